import AnimaCore
import AnimaLlama
import AnimaProcessor
import Testing

/// A constrained call or JSON answer that would run past its token budget still ends as a
/// complete value (`WrapUp`), shortened, with finish reason `length`; text is not touched.
@Suite("Closing a structure within the budget", .serialized)
struct WrapUpTests {
    static let echo = ToolDefinition(
        name: "echo", description: "Repeats a text back.",
        parameters: try! JSONSchema([
            "type": "object", "properties": ["text": ["type": "string"], "times": ["type": "integer"]], "required": ["text", "times"],
        ]))

    static let passage = String(
        repeating: "The river runs past the old mill, under the stone bridge, and on toward the sea where the gulls wait. ",
        count: 4)

    static func copyRequest(maxTokens: Int) -> GenerationRequest {
        GenerationRequest(
            messages: [.user("Call echo with this whole text, twice:\n\(passage)")], tools: [echo], toolChoice: .required,
            sampling: .greedy(maxTokens: maxTokens))
    }

    @Test("a call that would run past the limit closes, shortened, and says length")
    func aLongCallClosesWithinTheLimit() async throws {
        let engine = try await TestModel.engine()
        let result = try await engine.generate(Self.copyRequest(maxTokens: 48)).collect()
        let call = try #require(result.toolCalls.first, "no call: \(result.text)")
        #expect(result.toolCalls.count == 1)
        #expect(call.name == "echo")
        #expect(Self.echo.parameters.violations(of: call.arguments).isEmpty, "\(call.arguments.jsonText)")
        #expect(result.finishReason == .length)
        #expect(result.usage.completionTokens <= 48)
        // Until the budget closed it, the argument is what the model wrote with room to spare.
        let roomy = try await engine.generate(Self.copyRequest(maxTokens: 400)).collect()
        let shortened = try #require(call.arguments["text"]?.stringValue)
        if let whole = roomy.toolCalls.first?.arguments["text"]?.stringValue {
            #expect(whole.hasPrefix(shortened) && whole.count > shortened.count, "\(shortened) / \(whole)")
        }
    }

    @Test("a JSON answer that would run past the limit is still valid JSON of its schema")
    func aLongJSONAnswerClosesWithinTheLimit() async throws {
        let engine = try await TestModel.engine()
        let schema = try JSONSchema([
            "type": "object", "properties": ["title": ["type": "string"], "story": ["type": "string"]], "required": ["title", "story"],
        ])
        func answer(_ budget: Int) async throws -> GenerationResult {
            try await engine.generate(
                GenerationRequest(
                    messages: [.user("Answer in JSON: a title, and as the story this whole text:\n\(Self.passage)")],
                    responseFormat: .jsonSchema(schema), sampling: .greedy(maxTokens: budget))
            ).collect()
        }
        // The model's own answer, then the same with a budget three tokens short of it.
        let roomy = try await answer(400)
        try #require(roomy.finishReason == .stop && roomy.usage.completionTokens > 12, "\(roomy.text)")
        let result = try await answer(roomy.usage.completionTokens - 3)
        let value = try JSONValue(parsing: result.text)
        #expect(schema.violations(of: value).isEmpty, "\(result.text)")
        #expect(result.finishReason == .length, "\(result.text)")
        let whole = try JSONValue(parsing: roomy.text)
        let story = try #require(value["story"]?.stringValue)
        #expect(whole["story"]?.stringValue?.hasPrefix(story) == true, "\(result.text) / \(roomy.text)")
    }

    /// SmolLM2-135M, made to call with parallel calls allowed, writes this call three times,
    /// padded with spaces; the budget cut the third copy and the answer was malformed text.
    @Test("a small model that writes its call again ends with the call, not cut text")
    func aStutteredCallEndsAsACall() async throws {
        let engine = try await TestModel.engine()
        let convert = ToolDefinition(
            name: "convert_currency", description: "Convert an amount of money between currencies (ISO 4217 codes).",
            parameters: try JSONSchema([
                "type": "object", "properties": ["amount": ["type": "number"], "from": ["type": "string"], "to": ["type": "string"]],
                "required": ["amount", "from", "to"],
            ]))
        let request = GenerationRequest(
            messages: [
                .system("You are a helpful assistant. Answer the task directly; call a tool only when it helps."),
                .user("Convert one hundred pounds to dollars."),
            ], tools: [convert], toolChoice: .required, sampling: .greedy(maxTokens: 160))
        let result = try await engine.generate(request).collect()
        #expect(result.text.isEmpty, "\(result.text)")
        #expect(result.toolCalls.count == 1, "\(result.toolCalls)")
        #expect(result.finishReason == .toolCalls)
        #expect(result.usage.completionTokens < 160)
    }

    @Test("an answer in words under the whole-answer grammar still uses its whole budget")
    func wordsAreNotShortened() async throws {
        let engine = try await TestModel.engine()
        var request = GenerationRequest(
            messages: [.user("Write a long poem about the sea, with many verses.")], tools: [Self.echo],
            sampling: .greedy(maxTokens: 40))
        request.toolConstraint = .wholeAnswer
        let result = try await engine.generate(request).collect()
        try #require(result.toolCalls.isEmpty, "the model called: \(result.toolCalls)")
        #expect(result.finishReason == .length)
        #expect(result.usage.completionTokens == 40)
    }
}
