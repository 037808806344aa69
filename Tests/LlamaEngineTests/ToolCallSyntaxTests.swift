import AnimaCore
import Foundation
import Testing

@testable import AnimaLlama
@testable import AnimaProcessor

@Suite("Tool-call formats")
struct ToolCallSyntaxTests {
    func run(_ output: String, tools: Set<String>? = ["get_weather", "calculator"], stops: [String] = []) -> (
        text: String, calls: [ToolCall]
    ) {
        var assembler = OutputAssembler(stops: stops, parsesToolCalls: true, toolNames: tools)
        var events: [GenerationEvent] = []
        // One character per token: every format must survive being split anywhere.
        for c in output {
            events += assembler.push(Array(String(c).utf8))
            if assembler.stopped { break }
        }
        events += assembler.finish()
        let text = events.reduce(into: "") { if case .text(let t) = $1 { $0 += t } }
        let calls = events.compactMap { if case .toolCall(let c) = $0 { c } else { nil } }
        return (text, calls)
    }

    @Test func theFamilyComesFromTheChatTemplate() {
        #expect(ToolCallSyntax(template: "{{'<|im_start|>'}} ... <tool_call>\\n{\"name\": ...") == .hermes)
        #expect(ToolCallSyntax(template: "<|start_header_id|>ipython<|end_header_id|> <|python_tag|>") == .llama3)
        #expect(ToolCallSyntax(template: "[AVAILABLE_TOOLS] ... [TOOL_CALLS]") == .mistral)
        #expect(ToolCallSyntax(template: "<|im_start|>system\nYou are a helpful AI assistant named SmolLM") == .smolLM2)
        #expect(ToolCallSyntax(template: "chatml") == .hermes)
        #expect(ToolCallSyntax(template: "<start_of_turn>user") == .bareJSON)
    }

    @Test func bareJSONIsACall() {
        let (text, calls) = run("  {\"name\": \"calculator\", \"arguments\": {\"expression\": \"17!\"}}")
        #expect(text.isEmpty)
        #expect(calls.map(\.name) == ["calculator"])
        #expect(calls.first?.arguments == ["expression": "17!"])
    }

    @Test func llama3ParametersAndMistralListsAreCalls() {
        let llama = run("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}")
        #expect(llama.calls.first?.arguments == ["city": "Oslo"])
        let mistral = run(
            "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}, {\"name\": \"calculator\", \"arguments\": {\"expression\": \"1+1\"}}]"
        )
        #expect(mistral.calls.map(\.name) == ["get_weather", "calculator"])
        #expect(mistral.text.isEmpty)
        let several = run(
            "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}"
        )
        #expect(several.calls.map { $0.arguments["city"]?.stringValue } == ["Oslo", "Rome"])
    }

    @Test func smolLM2ListsInsideTagsAreCalls() {
        let (text, calls) = run(
            "<tool_call>[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}, {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lima\"}}]</tool_call>"
        )
        #expect(text.isEmpty)
        #expect(calls.count == 2)
    }

    @Test func jsonThatIsNotACallStaysTheAnswer() {
        // A JSON answer with a "name" but no arguments, an imaginary tool, and a string with braces.
        for output in [
            "{\"name\": \"Ada\", \"age\": 36}", "{\"name\": \"launch_missiles\", \"arguments\": {}}",
            "[1, 2, {\"a\": \"}]\"}]", "{\"name\": \"calculator\", \"arguments\": {\"expression\": \"1\"}} and then some",
            "{\"name\": \"calculator\", \"argu",
        ] {
            let (text, calls) = run(output)
            #expect(calls.isEmpty, "\(output)")
            #expect(text == output)
        }
    }

    @Test func aStopStringEndsABareAnswer() {
        let (text, calls) = run("[1, 2]END more", stops: ["END"])
        #expect(calls.isEmpty)
        #expect(text == "[1, 2]")
    }

    @Test func bracesInsideStringsDoNotEndTheCall() {
        let (_, calls) = run("{\"name\": \"calculator\", \"arguments\": {\"expression\": \"f(x) = {1} ]\"}}")
        #expect(calls.first?.arguments == ["expression": "f(x) = {1} ]"])
    }

    @Test func earlierCallsAreShownInTheFamilysShape() {
        let call = ToolCall(id: "c1", name: "calculator", arguments: ["expression": "2+2"])
        #expect(ToolCallSyntax.hermes.render([call]).hasPrefix("<tool_call>\n{\"name\":"))
        #expect(ToolCallSyntax.smolLM2.render([call]).hasPrefix("<tool_call>[{"))
        #expect(ToolCallSyntax.mistral.render([call]).hasPrefix("[TOOL_CALLS][{"))
        #expect(ToolCallSyntax.llama3.render([call]).contains("\"parameters\""))
        #expect(ToolCallSyntax.bareJSON.render([call]).hasPrefix("{\"name\""))
    }

    @Test func everyFamilysGrammarIsAcceptedByLlamaCpp() async throws {
        let engine = try await TestModel.engine()
        let tool = ToolDefinition(
            name: "calculator", description: "Arithmetic",
            parameters: try JSONSchema(["type": "object", "properties": ["expression": ["type": "string"]], "required": ["expression"]]))
        for syntax in ToolCallSyntax.allCases {
            for constraint in ToolConstraint.allCases {
                var request = GenerationRequest(messages: [.user("What is 2+2?")], tools: [tool], sampling: .greedy(maxTokens: 4))
                request.toolConstraint = constraint
                guard let grammar = try ToolCallFormat.grammar(for: request, syntax: syntax) else {
                    #expect(constraint == .off)
                    continue
                }
                #expect(grammar.lazy == (constraint == .whenCalling), "\(syntax) \(constraint)")
                #expect(try engine.grammarSamplerCompiles(grammar), "\(syntax) \(constraint): \(grammar.text)")
            }
        }
    }

    /// llama.cpp reads the trigger as ECMAScript; ICU reads this subset the same way.
    @Test("the lazy grammar wakes at the tag, at a ```json block that names an offered tool in full, or at a bare call")
    func theLazyGrammarWakesAtACallOfAnOfferedTool() throws {
        let tools = ["calculator", "get.weather"].map {
            ToolDefinition(name: $0, description: "", parameters: try! JSONSchema(["type": "object"]))
        }
        let regexes = try ToolCallFormat.triggers(tools).map { try NSRegularExpression(pattern: $0) }
        func wakesAt(_ text: String) -> String? {
            for regex in regexes {
                guard let m = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)), m.range(at: 1).location != NSNotFound
                else { continue }
                return String(text[Range(m.range(at: 1), in: text)!.lowerBound...])
            }
            return nil
        }
        #expect(wakesAt("Sure. <tool_call>{") == "<tool_call>{")
        #expect(wakesAt("I'll use it:\n```json\n{\"name\": \"calculator\"") == "```json\n{\"name\": \"calculator\"")
        #expect(wakesAt("```json [ {\"name\":\"get.weather\"") != nil)
        // Other JSON, a longer name, a name the dot of which is not a wildcard: free.
        #expect(wakesAt("```json\n{\"name\": \"my-app\", \"version\": 1}") == nil)
        #expect(wakesAt("```json\n{\"name\": \"calculator-app\"") == nil)
        #expect(wakesAt("```json\n{\"name\": \"getXweather\"") == nil)
        #expect(wakesAt("```python\nprint(\"name\")") == nil)
        // An answer that begins as a call, whatever name it gives; JSON further on is free.
        #expect(wakesAt("\n {\"name\": \"tool name\"") == "{\"name\": \"tool name\"")
        #expect(wakesAt("Sure: {\"name\": \"x\"") == nil)
    }

    @Test("a step with its tools withheld under the whole-answer grammar answers, and not with a call")
    func withheldToolsStillRefuseACallShapedAnswer() async throws {
        let engine = try await TestModel.engine()
        let tool = ToolDefinition(
            name: "calculator", description: "Arithmetic",
            parameters: try JSONSchema(["type": "object", "properties": ["expression": ["type": "string"]], "required": ["expression"]]))
        var request = GenerationRequest(
            messages: [.user("Reply with exactly this JSON: {\"name\": \"calculator\", \"arguments\": {\"expression\": \"2+2\"}}")],
            tools: [tool], toolChoice: .none, sampling: .greedy(maxTokens: 24))
        // Without the constraint, no grammar: the model's own choice.
        #expect(try ToolCallFormat.grammar(for: request) == nil)
        request.toolConstraint = .wholeAnswer
        let grammar = try #require(try ToolCallFormat.grammar(for: request))
        #expect(!grammar.lazy && !grammar.text.contains("calculator"), "\(grammar.text)")
        #expect(try engine.grammarSamplerCompiles(grammar))
        let result = try await engine.generate(request).collect()
        #expect(result.toolCalls.isEmpty)
        let start = try #require(result.text.first)
        #expect(start.isLetter || start.isNumber, "\(result.text)")
        #expect(!result.text.contains("\"arguments\""), "\(result.text)")
    }

    @Test("under the whole-answer grammar the model calls an offered tool or answers, never a malformed call")
    func wholeAnswerGrammarOnTheRealModel() async throws {
        let engine = try await TestModel.engine()
        let calculator = ToolDefinition(
            name: "calculator", description: "Evaluate an arithmetic expression exactly.",
            parameters: try JSONSchema(["type": "object", "properties": ["expression": ["type": "string"]], "required": ["expression"]]))
        for prompt in ["What is 1234 * 5678?", "Say hello.", "{\"name\": \"rm\"} <tool_call>"] {
            var request = GenerationRequest(messages: [.user(prompt)], tools: [calculator], sampling: .greedy(maxTokens: 48))
            request.toolConstraint = .wholeAnswer
            let result = try await engine.generate(request).collect()
            for call in result.toolCalls {
                #expect(call.name == "calculator")
                #expect(calculator.parameters.violations(of: call.arguments).isEmpty)
            }
            if result.toolCalls.isEmpty {
                let start = result.text.first
                #expect(start != "{" && start != "<" && start != "[", "\(result.text)")
                #expect(result.finishReason != .toolCalls)
            }
        }
    }
}
