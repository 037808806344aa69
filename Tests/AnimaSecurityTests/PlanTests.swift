import AnimaCore
import Testing

@testable import AnimaSecurity

@Suite("Dual-LLM plans")
struct PlanTests {
    @Test func aPlanParsesAndFillsItsVariables() throws {
        let plan = try Plan(
            json: """
                {"steps": [
                  {"call": "fetch", "arguments": {"url": "https://news.example"}, "output": "page"},
                  {"extract": "page", "instruction": "the headline", "schema": {"type": "string"}, "output": "headline"},
                  {"call": "send_email", "arguments": {"to": "bob@example.com", "body": {"$var": "headline"}}}
                ], "answer": "Sent: $headline"}
                """)
        #expect(plan.steps.count == 3)
        guard case .call(let tool, let arguments, nil) = plan.steps[2] else { Issue.record("\(plan.steps[2])"); return }
        #expect(tool == "send_email")
        let resolved = try Plan.resolve(arguments, ["headline": "Rain tomorrow"])
        #expect(resolved == ["to": "bob@example.com", "body": "Rain tomorrow"])
        #expect(Plan.fill(plan.answer, ["headline": "Rain tomorrow"]) == "Sent: Rain tomorrow")
    }

    @Test func badPlansAreRefusedBeforeAnythingRuns() {
        func error(_ json: String) -> String {
            do { _ = try Plan(json: json); return "accepted" } catch { return error.description }
        }
        #expect(error(#"{"steps": [{"call": "x", "arguments": {"a": {"$var": "nope"}}}], "answer": ""}"#).contains("uses $nope before"))
        #expect(error(#"{"steps": [{"extract": "nope", "output": "v"}], "answer": ""}"#).contains("extracts from $nope before"))
        #expect(error(#"{"steps": [{"think": "x"}], "answer": ""}"#).contains("neither a call nor an extraction"))
        #expect(error(#"{"steps": [{"call": "x", "output": "bad name"}], "answer": ""}"#).contains("not a variable name"))
        #expect(error(#"{"answer": ""}"#).contains("needs \"steps\""))
    }
}
