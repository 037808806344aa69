import AnimaCore
import AnimaKernel
import AnimaServer
import AnimaTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AnimaProcessor
@testable import AnimaProviders

/// Anima's own OpenAI-compatible server, on a real socket, served as a provider to
/// Anima's OpenAI client: the two sides of the same wire format checked against each
/// other, with the daemon's token as the API key.
@Suite("Anima's server as an OpenAI-compatible provider")
struct AnimaAsProviderTests {
    /// Answers tool results with their content, calls the first tool when tools are on
    /// offer, and echoes the last message otherwise.
    static func processor() -> ScriptedProcessor {
        let processor = ScriptedProcessor(slots: 2, scheduler: Scheduler(), name: "scripted") { request in
            if let last = request.messages.last, last.role == .tool { return .text("Tool said: " + last.content) }
            if !request.tools.isEmpty, request.toolChoice != .none {
                return .toolCalls([ToolCall(id: "call_1", name: request.tools[0].name, arguments: ["city": "Oslo"])])
            }
            return .text("You said: " + (request.messages.last?.content ?? ""))
        }
        processor.startStepping()
        return processor
    }

    /// Runs `body` with an OpenAI provider pointed at a live daemon.
    static func withDaemon(
        token valid: Bool = true, model: String = "scripted", _ body: @escaping @Sendable (OpenAIProvider) async throws -> Void
    ) async throws {
        var configuration = ServerConfiguration(dataDirectory: NSTemporaryDirectory() + "anima-provider-\(UUID().uuidString)")
        configuration.port = 0
        defer { try? FileManager.default.removeItem(atPath: configuration.dataDirectory) }
        let daemon = try Daemon(configuration: configuration, processor: processor(), engine: nil, embedder: nil)
        let secret = try await daemon.tokens.create(name: "provider", user: "alice", groups: ["users"], scopes: [.chat]).secret
        let app = Application(router: daemon.router())
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let endpoint = ProviderEndpoint(
                id: "anima", kind: .openAICompatible, baseURL: "http://127.0.0.1:\(port)/v1",
                models: [RemoteModel(name: model, contextLength: 2048)], limits: Replay.limits, retry: .none)
            let credential = ProviderCredential(provider: "anima", secret: valid ? secret : "anima_not-a-real-token")
            try await body(try OpenAIProvider(endpoint: endpoint, model: model, credential: credential))
        }
    }

    @Test func plainChat() async throws {
        try await Self.withDaemon { provider in
            var endpoint = provider.endpoint
            endpoint.streams = false
            let whole = try OpenAIProvider(endpoint: endpoint, model: "scripted", credential: provider.transport.credential)
            let result = try await whole.generate(GenerationRequest(messages: [.user("hello")], sampling: .greedy())).collect()
            #expect(result.text == "You said: hello")
            #expect(result.finishReason == .stop)
            #expect(result.usage.completionTokens == 3)
        }
    }

    @Test func streaming() async throws {
        try await Self.withDaemon { provider in
            var texts: [String] = []
            var usage: Usage?
            // Long enough to stream past the output guard's hold-back window (StreamGuard).
            let long = "hi there " + Array(repeating: "and more", count: 60).joined(separator: " ")
            for try await event in provider.generate(GenerationRequest(messages: [.user(long)], sampling: .greedy())) {
                switch event {
                case .text(let t): texts.append(t)
                case .usage(let u): usage = u
                default: break
                }
            }
            #expect(texts.count > 1, "the answer arrives in pieces")
            #expect(texts.joined() == "You said: " + long)
            #expect(usage?.completionTokens == 124)
        }
    }

    @Test func toolCallRoundTrip() async throws {
        try await Self.withDaemon { provider in
            var conversation = [ChatMessage.user("weather?")]
            let first = try await provider.generate(GenerationRequest(messages: conversation, tools: [Replay.weatherTool])).collect()
            #expect(first.finishReason == .toolCalls)
            #expect(first.toolCalls == [ToolCall(id: "call_1", name: "get_weather", arguments: ["city": "Oslo"])])
            conversation.append(.assistant(first.text, toolCalls: first.toolCalls))
            conversation.append(.tool("sunny", callID: "call_1"))
            let second = try await provider.generate(GenerationRequest(messages: conversation, tools: [Replay.weatherTool])).collect()
            #expect(second.text == "Tool said: sunny")
            #expect(second.finishReason == .stop)
        }
    }

    @Test func badTokenAndUnknownModel() async throws {
        try await Self.withDaemon(token: false) { provider in
            let error = await Replay.failure(of: provider.generate(GenerationRequest(messages: [.user("hi")])))
            guard case .badCredential("anima", 401, _)? = error as? ProviderError else {
                Issue.record("expected a rejected key, got \(String(describing: error))"); return
            }
        }
        try await Self.withDaemon(model: "gpt-9") { provider in
            let error = await Replay.failure(of: provider.generate(GenerationRequest(messages: [.user("hi")])))
            guard case .unknownModel("anima", "gpt-9", _)? = error as? ProviderError else {
                Issue.record("expected an unknown model, got \(String(describing: error))"); return
            }
        }
    }
}
