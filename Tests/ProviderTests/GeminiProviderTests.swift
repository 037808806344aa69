import AnimaCore
import AnimaTesting
import Foundation
import Testing

@testable import AnimaProcessor
@testable import AnimaProviders

@Suite("Gemini provider (replayed)")
struct GeminiProviderTests {
    let request = GenerationRequest(
        messages: [.system("You are terse."), .user("Say hello.")], sampling: SamplingParameters(temperature: 0, maxTokens: 16))

    func provider(_ server: ReplayServer, streams: Bool = true, model: String = "gemini-2.5-flash") throws -> GeminiProvider {
        try GeminiProvider(
            endpoint: Replay.endpoint(.gemini, server: server, path: "/v1beta", streams: streams), model: model,
            credential: Replay.credential("gemini", "GEMINI_KEY"))
    }

    @Test func plainChat() async throws {
        try await Replay.with(try Replay.exchanges("gemini-chat.http")) { server in
            let result = try await provider(server, streams: false).generate(request).collect()
            #expect(result.text == "Hello!")
            #expect(result.finishReason == .stop)
            #expect(result.usage == Usage(promptTokens: 9, completionTokens: 2))
            // The key travels in a header, never in the URL where logs would keep it.
            #expect(server.received.allSatisfy { !$0.path.contains(Replay.keys["GEMINI_KEY"]!) })
        }
    }

    @Test func streamingWithCRLF() async throws {
        try await Replay.with(try Replay.exchanges("gemini-stream.http")) { server in
            let events = try await Replay.events(of: provider(server).generate(request))
            #expect(
                events == [
                    .text("Hello"), .text(" there, ¿qué tal?"), .usage(Usage(promptTokens: 9, completionTokens: 6)), .finished(.stop),
                ])
        }
    }

    @Test func toolCallRoundTrip() async throws {
        try await Replay.with(try Replay.exchanges("gemini-tools.http")) { server in
            let model = try provider(server)
            var conversation = [ChatMessage.user("What is the weather in Paris?")]
            let first = try await model.generate(
                GenerationRequest(messages: conversation, tools: [Replay.weatherTool], sampling: .greedy())
            ).collect()
            #expect(first.toolCalls.map(\.name) == ["get_weather"])
            #expect(first.toolCalls.first?.arguments == ["city": "Paris"])
            #expect(first.finishReason == .toolCalls)
            conversation.append(.assistant(first.text, toolCalls: first.toolCalls))
            conversation.append(.tool(#"{"temperature_c":18,"sky":"clear"}"#, callID: first.toolCalls[0].id))
            let second = try await model.generate(
                GenerationRequest(messages: conversation, tools: [Replay.weatherTool], sampling: .greedy())
            ).collect()
            #expect(second.text == "It is 18 °C and clear in Paris.")
            #expect(second.usage == Usage(promptTokens: 70, completionTokens: 12))
        }
    }

    @Test func errorMapping() async throws {
        try await Replay.with(try Replay.exchanges("gemini-errors.http")) { server in
            let model = try provider(server, model: "gemini-9-ultra")
            let auth = await Replay.failure(of: model.generate(request)) as? ProviderError
            #expect(auth == .badCredential(provider: "gemini", status: 400, detail: "API key not valid. Please pass a valid API key."))
            let unknown = await Replay.failure(of: model.generate(request)) as? ProviderError
            #expect(
                unknown.map {
                    if case .unknownModel(_, "gemini-9-ultra", let d) = $0 {
                        d.hasPrefix("models/gemini-9-ultra is not found")
                    } else {
                        false
                    }
                } == true)
            let blocked = await Replay.failure(of: model.generate(request)) as? ProviderError
            #expect(blocked == .refused(provider: "gemini", reason: "the prompt was blocked (SAFETY)"))
            let stopped = await Replay.failure(of: model.generate(request)) as? ProviderError
            #expect(stopped == .refused(provider: "gemini", reason: "the answer was stopped (SAFETY)"))
        }
    }

    @Test func retriesQuotaAndOverload() async throws {
        try await Replay.with(try Replay.exchanges("gemini-retry.http")) { server in
            let result = try await provider(server).generate(GenerationRequest(messages: [.user("Say hello.")], sampling: .greedy()))
                .collect()
            #expect(result.text == "Hello!")
            #expect(server.received.count == 3)
        }
    }
}
