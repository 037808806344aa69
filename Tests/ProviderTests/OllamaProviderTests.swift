import AnimaCore
import AnimaTesting
import Foundation
import Testing

@testable import AnimaProcessor
@testable import AnimaProviders

@Suite("Ollama provider (replayed)")
struct OllamaProviderTests {
    let request = GenerationRequest(
        messages: [.system("You are terse."), .user("Say hello.")], sampling: SamplingParameters(temperature: 0, maxTokens: 16))

    func provider(_ server: ReplayServer, streams: Bool = true, model: String = "llama3.2") throws -> OllamaProvider {
        try OllamaProvider(endpoint: Replay.endpoint(.ollama, server: server, streams: streams, location: .local), model: model)
    }

    @Test func plainChat() async throws {
        try await Replay.with(try Replay.exchanges("ollama-chat.http")) { server in
            let result = try await provider(server, streams: false).generate(request).collect()
            #expect(result.text == "Hello!")
            #expect(result.usage == Usage(promptTokens: 26, completionTokens: 3))
            #expect(result.finishReason == .stop)
        }
    }

    @Test func streamingJSONLines() async throws {
        try await Replay.with(try Replay.exchanges("ollama-stream.http")) { server in
            let events = try await Replay.events(of: provider(server).generate(request))
            #expect(
                events == [.text("Hello"), .text(" — grüß dich"), .usage(Usage(promptTokens: 26, completionTokens: 5)), .finished(.stop)])
        }
    }

    @Test func toolCallRoundTrip() async throws {
        try await Replay.with(try Replay.exchanges("ollama-tools.http")) { server in
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
        }
    }

    @Test func errorMapping() async throws {
        try await Replay.with(try Replay.exchanges("ollama-errors.http")) { server in
            let model = try provider(server, model: "llama9")
            let unknown = await Replay.failure(of: model.generate(request)) as? ProviderError
            #expect(
                unknown == .unknownModel(provider: "ollama", model: "llama9", detail: "model \"llama9\" not found, try pulling it first"))
            let rejected = await Replay.failure(of: model.generate(request)) as? ProviderError
            #expect(rejected == .rejectedRequest(provider: "ollama", status: 400, detail: "invalid options: num_predcit"))
            let midStream = await Replay.failure(of: model.generate(request)) as? ProviderError
            #expect(midStream == .streamFailure(provider: "ollama", detail: "an error was encountered while running the model"))
        }
    }

    @Test func retriesBusyAndRateLimit() async throws {
        try await Replay.with(try Replay.exchanges("ollama-retry.http")) { server in
            let result = try await provider(server).generate(GenerationRequest(messages: [.user("Say hello.")], sampling: .greedy()))
                .collect()
            #expect(result.text == "Hello!")
            #expect(server.received.count == 3)
        }
    }

    @Test func refusesToForceAToolCall() async throws {
        try await Replay.with([]) { server in
            let error = await Replay.failure(
                of: try provider(server).generate(
                    GenerationRequest(messages: [.user("Hi")], tools: [Replay.weatherTool], toolChoice: .required)))
            #expect(
                error as? ProviderError == .unsupported(provider: "ollama", feature: "requiring a tool call (Ollama has no tool_choice)"))
            #expect(server.received.isEmpty)
        }
    }
}
