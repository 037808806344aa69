import AnimaCore
import AnimaProcessor
@testable import AnimaTesting
import Testing

@Suite("ScriptedModel")
struct ScriptedModelTests {
    @Test func answersInOrderAndRecordsRequests() async throws {
        let model = ScriptedModel(replies: [.text("Hello there world"), .toolCalls([ToolCall(id: "1", name: "calc", arguments: ["x": 1])])])
        let first = try await model.generate(GenerationRequest(messages: [.user("hi")])).collect()
        #expect(first.text == "Hello there world")
        #expect(first.usage == Usage(promptTokens: 2, completionTokens: 3))
        let second = try await model.generate(GenerationRequest(messages: [.user("go")])).collect()
        #expect(second.finishReason == .toolCalls)
        #expect(second.toolCalls.map(\.name) == ["calc"])
        #expect(model.requests.map { $0.messages[0].content } == ["hi", "go"])
        await #expect(throws: ProcessorError.self) { _ = try await model.generate(GenerationRequest(messages: [.user("more")])).collect() }
    }

    @Test func honoursMaxTokensStopsAndContext() async throws {
        let model = ScriptedModel(contextLength: 5) { _ in .text("one two three four five six") }
        let cut = try await model.generate(GenerationRequest(messages: [.user("a")], sampling: .greedy(maxTokens: 2))).collect()
        #expect(cut.text == "one two")
        #expect(cut.finishReason == .length)
        var sampling = SamplingParameters.greedy()
        sampling.stop = ["thr"]
        let stopped = try await model.generate(GenerationRequest(messages: [.user("a")], sampling: sampling)).collect()
        #expect(stopped.text == "one two ")
        #expect(stopped.finishReason == .stop)
        let long = GenerationRequest(messages: [.user("a b c d e f")])
        await #expect(throws: ProcessorError.promptTooLong(tokens: 7, limit: 5)) { _ = try await model.generate(long).collect() }
    }
}

/// The scripted model counts and splits ASCII text by bytes; it must split where characters do.
@Suite("ScriptedModel's ASCII fast paths")
struct ScriptedModelFastPathTests {
    @Test("words and tokens by bytes match the definitions by characters, CR-LF and every ASCII space included")
    func bytesSplitWhereCharactersDo() {
        var rng = SplitMix64(seed: 24)
        let alphabet = Array("ab Z.\t\n\r\u{0B}\u{0C}\r\n  ;\"")
        for _ in 0..<3000 {
            let text = String((0..<Int.random(in: 0...24, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
            #expect(ScriptedModel.wordCount(text) == ScriptedModel.characterWordCount(text), "\(Array(text.utf8))")
            #expect(ScriptedModel.tokens(text) == ScriptedModel.characterTokens(text), "\(Array(text.utf8))")
            #expect(ScriptedModel.tokens(text).joined() == text)
        }
        // Text beyond ASCII takes the definition itself.
        #expect(ScriptedModel.wordCount("caf\u{E9}\u{2003}bar") == 2)
    }
}
