import AnimaCore
import AnimaTesting
import Foundation
import Testing

@testable import AnimaProcessor
@testable import AnimaProviders

@Suite("OpenAI provider (replayed)")
struct OpenAIProviderTests {
    let request = GenerationRequest(
        messages: [.system("You are terse."), .user("Say hello.")], sampling: SamplingParameters(temperature: 0, maxTokens: 16))

    func provider(_ server: ReplayServer, streams: Bool = true, retry: RetryPolicy = Replay.retry, model: String = "gpt-4o-mini") throws
        -> OpenAIProvider
    {
        try OpenAIProvider(
            endpoint: Replay.endpoint(.openAI, server: server, path: "/v1", streams: streams, retry: retry), model: model,
            credential: Replay.credential("openai", "OPENAI_KEY"))
    }

    @Test func plainChat() async throws {
        try await Replay.with(try Replay.exchanges("openai-chat.http")) { server in
            let result = try await provider(server, streams: false).generate(request).collect()
            #expect(result.text == "Hello!")
            #expect(result.finishReason == .stop)
            #expect(result.usage == Usage(promptTokens: 19, completionTokens: 2))
        }
    }

    @Test func streamingSplitAnywhere() async throws {
        try await Replay.with(try Replay.exchanges("openai-stream.http")) { server in
            let events = try await Replay.events(of: provider(server).generate(request))
            let texts = events.compactMap { if case .text(let t) = $0 { t } else { nil } }
            #expect(texts == ["Hello", " — héllo", " 👋"])
            #expect(events.suffix(2) == [.usage(Usage(promptTokens: 19, completionTokens: 6)), .finished(.stop)])
        }
    }

    @Test func toolCallRoundTrip() async throws {
        try await Replay.with(try Replay.exchanges("openai-tools.http")) { server in
            let model = try provider(server)
            var conversation = [ChatMessage.user("What is the weather in Paris?")]
            let first = try await model.generate(
                GenerationRequest(messages: conversation, tools: [Replay.weatherTool], sampling: .greedy())
            ).collect()
            #expect(first.finishReason == .toolCalls)
            #expect(first.toolCalls == [ToolCall(id: "call_Wm3tQ8pYzX1kLs", name: "get_weather", arguments: ["city": "Paris"])])
            #expect(first.usage == Usage(promptTokens: 58, completionTokens: 15))
            conversation.append(.assistant(first.text, toolCalls: first.toolCalls))
            conversation.append(.tool(#"{"temperature_c":18,"sky":"clear"}"#, callID: first.toolCalls[0].id))
            let second = try await model.generate(
                GenerationRequest(messages: conversation, tools: [Replay.weatherTool], sampling: .greedy())
            ).collect()
            #expect(second.text == "It is 18 °C and clear in Paris.")
            #expect(second.finishReason == .stop)
        }
    }

    @Test func errorMapping() async throws {
        try await Replay.with(try Replay.exchanges("openai-errors.http")) { server in
            let model = try provider(server, model: "gpt-9-turbo")
            let key = Replay.keys["OPENAI_KEY"]!

            let auth = await Replay.failure(of: model.generate(request))
            guard case .badCredential(let provider, let status, _)? = auth as? ProviderError else {
                Issue.record("expected a bad-credential error, got \(String(describing: auth))"); return
            }
            #expect(provider == "openai" && status == 401)
            let message = "\(auth!)"
            #expect(message.contains("anima setup"))
            // Neither the key nor any 8-character piece of it may appear.
            for start in 0...(key.count - 8) {
                let piece = String(key.dropFirst(start).prefix(8))
                #expect(!message.contains(piece), "the error repeats part of the key: \(piece)")
            }

            let unknown = await Replay.failure(of: model.generate(request))
            #expect(
                (unknown as? ProviderError).map {
                    if case .unknownModel(_, "gpt-9-turbo", let detail) = $0 { detail.contains("does not exist") } else { false }
                } == true)

            let rejected = await Replay.failure(of: model.generate(request))
            #expect(
                (rejected as? ProviderError).map {
                    if case .rejectedRequest(_, 400, let detail) = $0 { detail.contains("string too long") } else { false }
                } == true)
        }
    }

    @Test func retriesRateLimitAndServerErrors() async throws {
        try await Replay.with(try Replay.exchanges("openai-retry.http")) { server in
            let result = try await provider(server).generate(GenerationRequest(messages: [.user("Say hello.")], sampling: .greedy()))
                .collect()
            #expect(result.text == "Hello!")
            #expect(server.received.count == 3)
        }
    }

    @Test func givesUpAfterTheLastAttempt() async throws {
        var exchanges = try Replay.exchanges("openai-retry.http")
        exchanges = [exchanges[0], exchanges[0]]
        try await Replay.with(exchanges) { server in
            let model = try provider(server, retry: RetryPolicy(maxAttempts: 2, baseDelay: 0.01, maxDelay: 0.02))
            let error = await Replay.failure(of: model.generate(GenerationRequest(messages: [.user("Say hello.")], sampling: .greedy())))
            #expect(
                (error as? ProviderError).map {
                    if case .rateLimited(_, 2, let detail) = $0 { detail.contains("Rate limit reached") } else { false }
                } == true)
        }
    }

    @Test func refusalIsAnError() async throws {
        try await Replay.with(try Replay.exchanges("openai-refusal.http")) { server in
            let error = await Replay.failure(of: try provider(server).generate(request))
            #expect(error as? ProviderError == .refused(provider: "openai", reason: "I'm sorry, I can't assist with that request."))
        }
    }
}
