import AnimaCore
import AnimaTesting
import Foundation
import Testing

@testable import AnimaProcessor
@testable import AnimaProviders

@Suite("Anthropic provider (replayed)")
struct AnthropicProviderTests {
    let request = GenerationRequest(
        messages: [.system("You are terse."), .user("Say hello.")], sampling: SamplingParameters(temperature: 0, maxTokens: 16))

    func provider(_ server: ReplayServer, streams: Bool = true, model: String = "claude-haiku-4-5") throws -> AnthropicProvider {
        try AnthropicProvider(
            endpoint: Replay.endpoint(.anthropic, server: server, path: "/v1", streams: streams), model: model,
            credential: Replay.credential("anthropic", "ANTHROPIC_KEY"))
    }

    @Test func plainChat() async throws {
        try await Replay.with(try Replay.exchanges("anthropic-chat.http")) { server in
            let result = try await provider(server, streams: false).generate(request).collect()
            #expect(result.text == "Hello!")
            #expect(result.finishReason == .stop)
            #expect(result.usage == Usage(promptTokens: 14, completionTokens: 5))
        }
    }

    @Test func streaming() async throws {
        try await Replay.with(try Replay.exchanges("anthropic-stream.http")) { server in
            let events = try await Replay.events(of: provider(server).generate(request))
            #expect(
                events == [
                    .text("Hello"), .text(" there — ça va?"), .usage(Usage(promptTokens: 14, completionTokens: 7)), .finished(.stop),
                ])
        }
    }

    @Test func toolCallRoundTrip() async throws {
        try await Replay.with(try Replay.exchanges("anthropic-tools.http")) { server in
            let model = try provider(server)
            var conversation = [ChatMessage.user("What is the weather in Paris?")]
            let first = try await model.generate(
                GenerationRequest(messages: conversation, tools: [Replay.weatherTool], sampling: .greedy())
            ).collect()
            #expect(first.text == "I'll check the weather.")
            #expect(first.toolCalls == [ToolCall(id: "toolu_01T3stA09q90qw90lq917", name: "get_weather", arguments: ["city": "Paris"])])
            #expect(first.finishReason == .toolCalls)
            #expect(first.usage == Usage(promptTokens: 472, completionTokens: 89))
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
        try await Replay.with(try Replay.exchanges("anthropic-errors.http")) { server in
            let model = try provider(server, model: "claude-nonexistent-9")
            let auth = await Replay.failure(of: model.generate(request)) as? ProviderError
            #expect(auth == .badCredential(provider: "anthropic", status: 401, detail: "invalid x-api-key"))
            let unknown = await Replay.failure(of: model.generate(request)) as? ProviderError
            #expect(unknown == .unknownModel(provider: "anthropic", model: "claude-nonexistent-9", detail: "model: claude-nonexistent-9"))
            let rejected = await Replay.failure(of: model.generate(request)) as? ProviderError
            #expect(rejected.map { if case .rejectedRequest(_, 400, let d) = $0 { d.hasPrefix("max_tokens") } else { false } } == true)
            let overloaded = await Replay.failure(of: model.generate(request)) as? ProviderError
            #expect(overloaded == .streamFailure(provider: "anthropic", detail: "overloaded_error: Overloaded"))
        }
    }

    @Test func retriesOverloadAndRateLimit() async throws {
        try await Replay.with(try Replay.exchanges("anthropic-retry.http")) { server in
            let result = try await provider(server).generate(GenerationRequest(messages: [.user("Say hello.")], sampling: .greedy()))
                .collect()
            #expect(result.text == "Hello!")
            #expect(server.received.count == 3)
        }
    }

    @Test func refusalIsAnError() async throws {
        try await Replay.with(try Replay.exchanges("anthropic-refusal.http")) { server in
            let error = await Replay.failure(of: try provider(server).generate(request))
            #expect(error as? ProviderError == .refused(provider: "anthropic", reason: "the model stopped with a refusal"))
        }
    }

    @Test func jsonAnswerThroughAForcedTool() async throws {
        try await Replay.with(try Replay.exchanges("anthropic-json.http")) { server in
            let schema = try JSONSchema(parsing: #"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#)
            let result = try await provider(server, streams: false).generate(
                GenerationRequest(messages: [.user("Name a city.")], responseFormat: .jsonSchema(schema), sampling: .greedy(maxTokens: 64))
            ).collect()
            #expect(result.text == #"{"city":"Lisbon"}"#)
            #expect(result.toolCalls.isEmpty)
            #expect(result.finishReason == .stop)
        }
    }
}
