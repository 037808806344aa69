import AnimaCore
import AnimaTesting
import Foundation
import Testing

@testable import AnimaProcessor
@testable import AnimaProviders

/// What a provider does with servers that misbehave: every case ends in a clear error
/// naming what went wrong, promptly, without a crash or a hang.
@Suite("Providers against misbehaving servers")
struct ProviderRobustnessTests {
    let request = GenerationRequest(messages: [.user("Say hello.")], sampling: .greedy())
    static let credential = Replay.credential("openai", "OPENAI_KEY")

    static func exchange(
        _ body: String, status: Int = 200, chunking: ReplayExchange.Chunking = .events, cutAfter: Int? = nil, stallAfter: Int? = nil,
        headers: [(name: String, value: String)] = [("Content-Type", "text/event-stream")]
    ) -> ReplayExchange {
        ReplayExchange(
            request: .init(method: "POST", path: "/v1/chat/completions"),
            response: .init(
                status: status, headers: headers, body: Array(body.utf8), chunking: chunking, cutAfter: cutAfter, stallAfter: stallAfter))
    }

    static let chunk = #"data: {"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"# + "\n\n"

    func provider(_ server: ReplayServer, limits: ProviderLimits = Replay.limits, retry: RetryPolicy = Replay.retry) throws
        -> OpenAIProvider
    {
        try OpenAIProvider(
            endpoint: Replay.endpoint(.openAI, server: server, path: "/v1", retry: retry, limits: limits), model: "gpt-4o-mini",
            credential: Self.credential)
    }

    @Test func streamCutInTheMiddleOfAnEvent() async throws {
        let body = Self.chunk + Self.chunk + "data: [DONE]\n\n"
        try await Replay.with([Self.exchange(body, cutAfter: Self.chunk.utf8.count + 20)]) { server in
            var texts: [String] = []
            do {
                for try await event in try provider(server).generate(request) { if case .text(let t) = event { texts.append(t) } }
                Issue.record("a cut stream must not end normally")
            } catch let error as ProviderError {
                guard case .truncatedStream = error else { Issue.record("expected a truncated stream, got \(error)"); return }
            }
            #expect(texts == ["Hel"], "the text before the cut still arrives")
        }
    }

    @Test func streamThatEndsWithoutItsEndMarker() async throws {
        try await Replay.with([Self.exchange(Self.chunk)]) { server in
            let error = await Replay.failure(of: try provider(server).generate(request)) as? ProviderError
            #expect(error == .truncatedStream(provider: "openai", detail: "no end-of-answer event arrived"))
        }
    }

    @Test func silentServerTimesOut() async throws {
        let limits = ProviderLimits(connectTimeout: 10, responseTimeout: 60, idleTimeout: 0.3)
        try await Replay.with([Self.exchange(Self.chunk + Self.chunk, stallAfter: Self.chunk.utf8.count)]) { server in
            // Well before the 60-second response limit: the idle limit is what fired.
            let error = await Replay.failure(of: try provider(server, limits: limits).generate(request)) as? ProviderError
            #expect(error == .timedOut(provider: "openai", waitingFor: "more of the stream", seconds: 0.3))
        }
    }

    @Test func oversizedEventIsRefused() async throws {
        let huge = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + String(repeating: "a", count: 5000) + "\"}}]}\n\n"
        let limits = ProviderLimits(
            connectTimeout: 10, responseTimeout: 60, idleTimeout: 30, maxEventBytes: 2048, maxResponseBytes: 1 << 20)
        try await Replay.with([Self.exchange(huge, chunking: .bytes(512))]) { server in
            let error = await Replay.failure(of: try provider(server, limits: limits).generate(request)) as? ProviderError
            #expect(error == .oversizedResponse(provider: "openai", limit: 2048))
        }
    }

    @Test func malformedChunkIsNamed() async throws {
        try await Replay.with([Self.exchange("data: {\"choices\": [tru\n\n")]) { server in
            let error = await Replay.failure(of: try provider(server).generate(request)) as? ProviderError
            guard case .malformedResponse(_, let reason)? = error else { Issue.record("got \(String(describing: error))"); return }
            #expect(reason.contains("not JSON"))
        }
    }

    @Test func htmlErrorPageAfterRetries() async throws {
        let page = ReplayExchange(
            request: .init(method: "POST", path: "/v1/chat/completions"),
            response: .init(
                status: 502, headers: [("Content-Type", "text/html")],
                body: Array("<html><body><h1>502 Bad Gateway</h1></body></html>".utf8)))
        try await Replay.with([page, page]) { server in
            let error =
                await Replay.failure(
                    of: try provider(server, retry: RetryPolicy(maxAttempts: 2, baseDelay: 0.01, maxDelay: 0.01)).generate(request))
                as? ProviderError
            #expect(
                error
                    == .serverFailure(
                        provider: "openai", status: 502, attempts: 2, detail: "<html><body><h1>502 Bad Gateway</h1></body></html>"))
        }
    }

    /// A redirect is not followed, so the key never reaches the host it points to.
    @Test func redirectIsNotFollowed() async throws {
        let elsewhere = try await ReplayServer.start([])
        let redirect = ReplayExchange(
            request: .init(method: "POST", path: "/v1/chat/completions"),
            response: .init(status: 307, headers: [("Location", elsewhere.baseURL + "/v1/chat/completions")]))
        try await Replay.with([redirect]) { server in
            let error = await Replay.failure(of: try provider(server).generate(request)) as? ProviderError
            #expect(error == .redirectRefused(provider: "openai", status: 307, location: elsewhere.baseURL + "/v1/chat/completions"))
        }
        #expect(elsewhere.received.isEmpty)
        await elsewhere.stop()
    }

    @Test func unreachableServer() async throws {
        let server = try await ReplayServer.start([])
        let limits = ProviderLimits(connectTimeout: 0.3, responseTimeout: 60, idleTimeout: 30)
        let model = try provider(server, limits: limits, retry: RetryPolicy(maxAttempts: 2, baseDelay: 0.01, maxDelay: 0.01))
        await server.stop()
        let error = await Replay.failure(of: model.generate(request)) as? ProviderError
        guard case .connectionFailed(let provider, let url, _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(provider == "openai" && url == server.baseURL + "/v1")
    }

    /// A remote provider refuses private data itself, without touching the network.
    @Test func privateDataNeverLeaves() async throws {
        try await Replay.with([]) { server in
            var secret = GenerationRequest(messages: [.user("My diagnosis is ...")])
            secret.privacy = .private
            let error = await Replay.failure(of: try provider(server).generate(secret)) as? ProviderError
            #expect(error == .privateDataRefused(provider: "openai"))
            #expect(server.connections == 0)
        }
    }

    @Test func keysAreCheckedBeforeAnythingIsSent() throws {
        let endpoint = ProviderEndpoint(id: "openai", kind: .openAI)
        #expect(throws: ProviderError.missingCredential(provider: "openai", environmentVariable: "OPENAI_API_KEY")) {
            _ = try OpenAIProvider(endpoint: endpoint, model: "gpt-4o-mini", credential: nil)
        }
        #expect(throws: ProviderError.invalidConfiguration("the API key of anthropic cannot be used for openai")) {
            _ = try OpenAIProvider(endpoint: endpoint, model: "gpt-4o-mini", credential: Replay.credential("anthropic", "ANTHROPIC_KEY"))
        }
        #expect(throws: ProviderError.self) {
            _ = try OpenAIProvider(
                endpoint: ProviderEndpoint(id: "openai", kind: .openAI, baseURL: "http://api.example.com/v1"), model: "gpt-4o-mini",
                credential: Self.credential)
        }
    }

    @Test func credentialsNeverPrintThemselves() {
        let secret = Replay.keys["OPENAI_KEY"]!
        var dumped = ""
        dump(Self.credential, to: &dumped)
        for text in ["\(Self.credential)", String(reflecting: Self.credential), dumped] {
            #expect(!text.contains(secret) && !text.contains(String(secret.prefix(10))))
        }
    }
}
