import Testing

@testable import AnimaCore

/// What `--tools`, an agent spec's `tools` and `run_agent`'s `tools` choose.
@Suite("Tool selection")
struct ToolSelectionTests {
    static let names = [
        "calculator", "files", "mail__list_emails", "mail__send_email", "mail__send_money", "mail__delete_email", "bank__send_money",
        "bank__balance",
    ]

    @Test func aFullNameAServerAndAGlobEachChooseWhatTheySay() throws {
        #expect(try ToolSelection.resolve(["mail__send_email"], among: Self.names) == ["mail__send_email"])
        #expect(
            try ToolSelection.resolve(["mail"], among: Self.names) == [
                "mail__list_emails", "mail__send_email", "mail__send_money", "mail__delete_email",
            ])
        #expect(try ToolSelection.resolve(["mail__send_*"], among: Self.names) == ["mail__send_email", "mail__send_money"])
        #expect(try ToolSelection.resolve(["*__send_money"], among: Self.names) == ["mail__send_money", "bank__send_money"])
        #expect(try ToolSelection.resolve(["*"], among: Self.names) == Self.names)
        #expect(try ToolSelection.resolve(["bank__?alance"], among: Self.names) == ["bank__balance"])
        // Overlaps count once, in the tools' own order; blanks are ignored.
        #expect(
            try ToolSelection.resolve(["bank", " ", "*money", "calculator"], among: Self.names) == [
                "calculator", "mail__send_money", "bank__send_money", "bank__balance",
            ])
        #expect(try ToolSelection.resolve([], among: Self.names).isEmpty)
    }

    @Test func aSelectorThatChoosesNothingNamesWhatExists() {
        for selector in ["mail__send", "telepathy", "nothing*", "ma"] {
            do {
                _ = try ToolSelection.resolve(
                    ["calculator", selector], among: Self.names, problems: ["MCP server web did not start: boom"])
                Issue.record("\(selector) was accepted")
            } catch {
                #expect(error.selector == selector)
                #expect(error.description.contains("\"\(selector)\""))
                #expect(error.description.contains("mail__send_email"), "\(error)")
                #expect(error.description.contains("MCP server web did not start: boom"))
            }
        }
        #expect(throws: ToolSelectionError.self) { try ToolSelection.resolve(["x"], among: []) }
    }

    @Test func globsMatchWholeNamesOnly() {
        #expect(ToolSelection.matches("mail__*", "mail__send"))
        #expect(!ToolSelection.matches("mail__*", "xmail__send"))
        #expect(!ToolSelection.matches("mail", "mail__send"))
        #expect(ToolSelection.matches("*__send_*", "a__send_b"))
        #expect(!ToolSelection.matches("*__send_*", "a__resend"))
        #expect(ToolSelection.matches("a*b*c", "aXbYbZc"))
        #expect(!ToolSelection.matches("a*b*c", "aXbYbZ"))
        #expect(ToolSelection.matches("", ""))
        #expect(!ToolSelection.matches("?", ""))
        #expect(ToolSelection.matches("é*", "été"))
    }

    @Test func aPathologicalGlobStaysCheap() {
        // Exponential for naive recursion; linear backtracking answers at once.
        let pattern = String(repeating: "a*", count: 200) + "b"
        let name = String(repeating: "a", count: 5000)
        let clock = ContinuousClock()
        let start = clock.now
        #expect(!ToolSelection.matches(pattern, name))
        #expect(clock.now - start < .seconds(5))
    }
}
