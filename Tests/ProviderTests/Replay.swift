import AnimaCore
import AnimaProcessor
import AnimaProviders
import AnimaTesting
import Foundation
import Testing

/// Fixtures and a replay server for provider tests.
enum Replay {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Keys that look like the real thing; no real key is ever used in tests.
    static let keys = [
        "OPENAI_KEY": "sk-proj-T3stK3yN0tR3al9xQ2wE7rY5uI1oP4aS",
        "ANTHROPIC_KEY": "sk-ant-api03-T3stK3yN0tR3al-8dF6gH2jK4lZ",
        "GEMINI_KEY": "AIzaSyT3stK3yN0tR3al_Qw9Er7Ty5Ui3Op1",
    ]

    static func exchanges(_ name: String) throws -> [ReplayExchange] {
        try ReplayScript.load(fixtures.appendingPathComponent(name), substitutions: keys)
    }

    /// Limits generous enough for a loaded 2-core machine (a starved consumer pauses
    /// reading, which looks like a silent server); tests about stalls set their own.
    static let limits = ProviderLimits(connectTimeout: 10, responseTimeout: 60, idleTimeout: 30)
    static let retry = RetryPolicy(maxAttempts: 3, baseDelay: 0.01, maxDelay: 0.05)

    static func endpoint(
        _ kind: ProviderKind, id: String? = nil, server: ReplayServer, path: String = "", streams: Bool = true,
        location: ProcessorLocation = .remote, retry: RetryPolicy = Replay.retry, limits: ProviderLimits = Replay.limits
    ) -> ProviderEndpoint {
        ProviderEndpoint(
            id: id ?? kind.rawValue, kind: kind, baseURL: server.baseURL + path, location: location, limits: limits, retry: retry,
            streams: streams)
    }

    static func credential(_ provider: String, _ name: String) -> ProviderCredential {
        ProviderCredential(provider: provider, secret: keys[name]!)
    }

    /// Runs `body` against a server playing `exchanges`, then checks that every request
    /// matched its recording and every recorded exchange was played.
    static func with(
        _ exchanges: [ReplayExchange], sourceLocation: SourceLocation = #_sourceLocation, _ body: (ReplayServer) async throws -> Void
    ) async throws {
        let server = try await ReplayServer.start(exchanges)
        do {
            try await body(server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
        #expect(server.mismatches == [], sourceLocation: sourceLocation)
        #expect(server.remaining == 0, "recorded exchanges were not played", sourceLocation: sourceLocation)
    }

    /// The error a generation ends with; fails the test if it ends without one.
    static func failure(of stream: AsyncThrowingStream<GenerationEvent, any Error>) async -> (any Error)? {
        do {
            _ = try await stream.collect()
            return nil
        } catch {
            return error
        }
    }

    /// Every event of a stream, in order.
    static func events(of stream: AsyncThrowingStream<GenerationEvent, any Error>) async throws -> [GenerationEvent] {
        var out: [GenerationEvent] = []
        for try await event in stream { out.append(event) }
        return out
    }

    static let weatherTool = try! ToolDefinition(
        name: "get_weather", description: "Get the current weather in a city.",
        parameters: JSONSchema(parsing: #"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#))
}
