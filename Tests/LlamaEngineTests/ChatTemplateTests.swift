import Testing

@testable import AnimaLlama
@testable import AnimaProcessor

@Suite("ChatTemplate")
struct ChatTemplateTests {
    @Test func placeholdersAreFoundByBytesAfterAnyText() {
        let text = "<|im_start|>système ✓ \u{E000}anima-1\u{E000}anima-12\u{E001} tail"
        let found = ChatTemplate.firstRange(of: "\u{E000}anima-12\u{E001}", in: Substring(text))
        #expect(found.map { String(text[$0]) } == "\u{E000}anima-12\u{E001}")
        #expect(found.map { String(text[..<$0.lowerBound]) } == "<|im_start|>système ✓ \u{E000}anima-1")
        #expect(ChatTemplate.firstRange(of: "\u{E000}anima-3\u{E001}", in: Substring(text)) == nil)
        #expect(ChatTemplate.firstRange(of: "tail!", in: Substring(text)) == nil)
        #expect(ChatTemplate.firstRange(of: "", in: Substring(text)) == nil)
        let rest = text[text.firstIndex(of: "✓")!...]
        #expect(ChatTemplate.firstRange(of: "✓", in: rest)?.lowerBound == rest.startIndex)
    }
}
