import AnimaCore
import Testing

@testable import AnimaLlama
@testable import AnimaProcessor

@Suite("Output assembly")
struct OutputAssemblerTests {
    func run(
        _ pieces: [[UInt8]], stops: [String] = [], tools: Bool = false, names: Set<String>? = nil, callsOnlyAtStart: Bool = false
    ) -> (events: [GenerationEvent], stopped: Bool) {
        var assembler = OutputAssembler(stops: stops, parsesToolCalls: tools, toolNames: names, callsOnlyAtStart: callsOnlyAtStart)
        var events: [GenerationEvent] = []
        for piece in pieces {
            events += assembler.push(piece)
            if assembler.stopped { return (events, true) }
        }
        return (events + assembler.finish(), false)
    }

    func text(_ events: [GenerationEvent]) -> String {
        events.reduce(into: "") { if case .text(let t) = $1 { $0 += t } }
    }

    @Test func multiByteCharactersSplitAcrossTokensArriveWhole() {
        let bytes = Array("né😀 ok".utf8)
        // One byte per token: every event must still be valid, whole characters.
        let (events, _) = run(bytes.map { [$0] })
        #expect(text(events) == "né😀 ok")
        for case .text(let t) in events { #expect(!t.contains("\u{FFFD}")) }
    }

    @Test func invalidBytesBecomeReplacementCharactersAtTheEnd() {
        let (events, _) = run([[0x61], [0xF0, 0x9F]])
        #expect(text(events) == "a\u{FFFD}")
    }

    @Test func stopStringSplitAcrossTokensIsNeverEmitted() {
        let (events, stopped) = run(["Hello ", "wor", "ld", "E", "N", "D more"].map { Array($0.utf8) }, stops: ["END"])
        #expect(stopped)
        #expect(text(events) == "Hello world")
    }

    @Test func heldPrefixIsReleasedWhenItTurnsOutNotToBeAStop() {
        let (events, stopped) = run(["a", "EN", "x"].map { Array($0.utf8) }, stops: ["END"])
        #expect(!stopped)
        #expect(text(events) == "aENx")
    }

    /// Under the whole-answer grammar an answer in words may quote a call (the prompt asked it
    /// to, or an injected page did): it stays words, whatever name it gives.
    @Test func aCallQuotedInAWholeAnswerInWordsStaysWords() {
        let answer = "You wrote <tool_call>{\"name\": \"rm\", \"arguments\": {}}</tool_call>"
        for pieces in [[Array(answer.utf8)], Array(answer.utf8).map { [$0] }] {
            let (events, _) = run(pieces, tools: true, callsOnlyAtStart: true)
            #expect(text(events) == answer)
            #expect(!events.contains { if case .toolCall = $0 { true } else { false } })
        }
        // A call at the start is still a call.
        let call = "<tool_call>{\"name\": \"calculator\", \"arguments\": {\"expression\": \"1+1\"}}</tool_call>"
        let (events, _) = run([Array(call.utf8)], tools: true, callsOnlyAtStart: true)
        #expect(events.contains { if case .toolCall(let c) = $0 { c.name == "calculator" } else { false } })
    }

    @Test func toolCallsAreLiftedOutOfTheText() {
        let output =
            "Let me check.<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>\n<tool_call>{\"name\":\"t\",\"arguments\":\"{\\\"x\\\":1}\"}</tool_call>"
        let pieces = output.map { Array(String($0).utf8) }
        let (events, _) = run(pieces, tools: true)
        #expect(text(events) == "Let me check.")
        let calls = events.compactMap { if case .toolCall(let c) = $0 { c } else { nil } }
        #expect(calls.map(\.name) == ["get_weather", "t"])
        #expect(calls[0].arguments == ["city": "Oslo"])
        #expect(calls[1].arguments == ["x": 1])  // arguments encoded as a string are decoded
        #expect(calls[0].id != calls[1].id)
    }

    @Test func withoutToolsTheTagIsJustText() {
        let (events, _) = run([Array("<tool_call>{}</tool_call>".utf8)])
        #expect(text(events) == "<tool_call>{}</tool_call>")
    }

    @Test func aRepeatedCallInOneAnswerCountsOnce() {
        let block = "<tool_call>{\"name\":\"t\",\"arguments\":{\"x\":1}}</tool_call>"
        let (events, _) = run([Array((block + block).utf8)], tools: true)
        #expect(events.filter { if case .toolCall = $0 { true } else { false } }.count == 1)
        #expect(text(events).isEmpty)
    }

    /// SmolLM2-135M, made to call with parallel calls allowed, wrote the same call over and
    /// over until its budget cut the last copy, and the whole answer was read as malformed text.
    @Test("a bare call written again ends the answer, with the call once")
    func aRepeatedBareCallEndsTheAnswer() {
        let call = "{   \"name\": \"t\" , \"arguments\": {   \"x\": 1 } }"
        let again = "{\"name\":\"t\",\"arguments\":{\"x\":1}}"  // the same call, spaced otherwise
        let output = "\(call)  {\"name\": \"u\", \"arguments\": {}}  \(again)  {\"name\": \"t\", \"argu"
        for pieces in [[Array(output.utf8)], Array(output.utf8).map { [$0] }] {
            let (events, stopped) = run(pieces, tools: true, names: ["t", "u"])
            #expect(stopped == (pieces.count > 1))  // token by token it stops at the repeat
            #expect(calls(events).map(\.name) == ["t", "u"])
            #expect(text(events).isEmpty)
        }
        // Tagged, the same: the answer ends at the repeat, and nothing after it is read.
        let tagged = "<tool_call>\(call)</tool_call>\n<tool_call>\(again)</tool_call> and more words"
        let (events, stopped) = run(Array(tagged.utf8).map { [$0] }, tools: true)
        #expect(stopped)
        #expect(calls(events).count == 1)
        #expect(text(events).isEmpty)
    }

    @Test("whole bare calls before one the budget cut are calls; the cut one is dropped")
    func bareCallsBeforeACutOneCount() {
        let output = "{\"name\": \"t\", \"arguments\": {\"x\": 1}} {\"name\": \"u\", \"argu"
        let (events, _) = run([Array(output.utf8)], tools: true, names: ["t", "u"])
        #expect(calls(events).map(\.name) == ["t"])
        #expect(text(events).isEmpty)
        // Alone, a cut call is not a call, and words after whole calls are no cut: both stay text.
        for answer in ["{\"name\": \"t\", \"argu", "{\"name\": \"t\", \"arguments\": {}} then {"] {
            let (events, _) = run([Array(answer.utf8)], tools: true, names: ["t"])
            #expect(calls(events).isEmpty)
            #expect(text(events) == answer)
        }
    }

    @Test func aCallCutOffByTheTokenLimitIsDropped() {
        let (events, _) = run([Array("Sure.<tool_call>{\"name\": \"t\", \"argu".utf8)], tools: true)
        #expect(text(events) == "Sure.")
        #expect(!events.contains { if case .toolCall = $0 { true } else { false } })
    }

    @Test func aWholeCallWhoseClosingTagWasCutIsACall() {
        let (events, _) = run([Array("<tool_call>{\"name\": \"t\", \"arguments\": {}}</tool_".utf8)], tools: true)
        #expect(calls(events).map(\.name) == ["t"])
        #expect(text(events).isEmpty)
    }

    /// SmolLM2, held to a string it meant to close, wrote the closing tag into the argument:
    /// the call was closed there, read as text, and the rest ran on unconstrained to the limit.
    @Test func aClosingTagInsideAnArgumentIsTheArguments() {
        let output = #"<tool_call>{"name": "t", "arguments": {"x": "2.5}}</tool_call>2.5"}}</tool_call>"#
        for pieces in [[Array(output.utf8)], Array(output.utf8).map { [$0] }] {
            let (events, _) = run(pieces, tools: true)
            #expect(calls(events).first?.arguments == ["x": "2.5}}</tool_call>2.5"])
            #expect(text(events).isEmpty)
        }
        // With no tag outside a string by the end, the first tag closes it, as before: a broken call is text.
        let broken = #"<tool_call>{"name": "t", "arguments": {"x": "open</tool_call> and words"#
        let (events, _) = run([Array(broken.utf8)], tools: true)
        #expect(calls(events).isEmpty)
        #expect(text(events) == #"<tool_call>{"name": "t", "arguments": {"x": "open</tool_call> and words"#)
    }

    @Test func aBrokenToolCallIsReturnedAsText() {
        let (events, _) = run([Array("<tool_call>{not json</tool_call>".utf8)], tools: true)
        #expect(text(events) == "<tool_call>{not json</tool_call>")
    }

    func calls(_ events: [GenerationEvent]) -> [ToolCall] {
        events.compactMap { if case .toolCall(let c) = $0 { c } else { nil } }
    }

    /// Qwen2.5-Coder-1.5B explains first and puts its call in a Markdown JSON block.
    @Test("a call in a ```json block after words is a call, and the words stay")
    func aFencedCallOfAnOfferedToolIsACall() {
        let output =
            "To find out, I'll use the calculator tool:\n```json\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"99 / 3\"}}\n```"
        for pieces in [[Array(output.utf8)], Array(output.utf8).map { [$0] }] {
            let (events, _) = run(pieces, tools: true, names: ["calculator"])
            #expect(calls(events).map(\.name) == ["calculator"])
            #expect(calls(events).first?.arguments == ["expression": "99 / 3"])
            #expect(text(events) == "To find out, I'll use the calculator tool:\n")
        }
        // A list of calls in one block, then words after it.
        let two = "Both:\n```json\n[{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\", \"arguments\": {\"x\": 1}}]\n```\nDone."
        let (events, _) = run([Array(two.utf8)], tools: true, names: ["a", "b"])
        #expect(calls(events).map(\.name) == ["a", "b"])
        #expect(text(events) == "Both:\n\nDone.")  // the words around the block, as written
    }

    @Test("a ```json block that is not wholly calls of offered tools stays as written")
    func otherJSONBlocksStayText() {
        let blocks = [
            "```json\n{\"name\": \"my-app\", \"version\": \"1.0.0\"}\n```",  // package.json: no arguments
            "```json\n{\"name\": \"rm\", \"arguments\": {\"path\": \"/\"}}\n```",  // not offered
            "```json\n{\"name\": \"calculator\", \"arguments\": {}} and more\n```",  // not only calls
            "```json\n{\"name\": \"calculator\", \"argu",  // cut off, unterminated
        ]
        for block in blocks {
            let answer = "Here it is:\n" + block
            for pieces in [[Array(answer.utf8)], Array(answer.utf8).map { [$0] }] {
                let (events, _) = run(pieces, tools: true, names: ["calculator"])
                #expect(calls(events).isEmpty, "\(block)")
                #expect(text(events) == answer)
            }
        }
        // Without tools a block is only text.
        let call = "```json\n{\"name\": \"calculator\", \"arguments\": {}}\n```"
        #expect(text(run([Array(call.utf8)]).events) == call)
    }

    @Test("other code blocks stream as they come")
    func codeBlocksAreNotHeldBack() {
        var assembler = OutputAssembler(stops: [], parsesToolCalls: true, toolNames: ["calculator"])
        var streamed = ""
        for piece in ["Run:\n", "```python\n", "print(1)\n", "```", "\n"] {
            for case .text(let t) in assembler.push(Array(piece.utf8)) { streamed += t }
        }
        #expect(streamed.hasPrefix("Run:\n```python\nprint(1)"), "\(streamed)")
    }

    @Test("under the whole-answer grammar a fenced call after words stays words")
    func aFencedCallInAWholeAnswerInWordsStaysWords() {
        let answer = "I would call:\n```json\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"1+1\"}}\n```"
        let (events, _) = run([Array(answer.utf8)], tools: true, names: ["calculator"], callsOnlyAtStart: true)
        #expect(calls(events).isEmpty)
        #expect(text(events) == answer)
    }
}
