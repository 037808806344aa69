import AnimaAutomation
import AnimaCore
import Foundation
import Testing

@Suite("Workflow files")
struct WorkflowFileTests {
    static let full = """
        {"name": "triage", "version": 2, "description": "every kind of step",
         "inputs": {"type": "object", "properties": {"issue": {"type": "string"}}, "required": ["issue"]},
         "groups": ["net"],
         "triggers": [{"type": "webhook"}, {"type": "cron", "schedule": "0 7 * * mon-fri", "time_zone": "Europe/Paris"},
                      {"type": "files", "directory": "/tmp/in"}, {"type": "completion", "workflow": "other"}, {"type": "manual"}],
         "steps": [
           {"id": "fetch", "type": "http", "url": "https://example.org/x", "retry": {"attempts": 3, "backoff": 0.5}, "timeout": 5},
           {"id": "think", "type": "agent", "task": "Triage ${inputs.issue}", "tools": ["calculator"], "memory": "triage"},
           {"id": "calc", "type": "tool", "tool": "calculator", "arguments": {"expression": "1+1"}},
           {"id": "remote", "type": "mcp", "server": "files", "tool": "list", "arguments": {}},
           {"id": "check", "type": "condition", "if": {"eq": ["${steps.fetch.output.status}", 200]},
            "then": [{"id": "pause", "type": "wait", "seconds": 0}], "else": [{"id": "ask", "type": "approval", "prompt": "go?"}]},
           {"id": "each", "type": "loop", "over": "${steps.fetch.output.body.items}", "as": "n",
            "steps": [{"id": "child", "type": "workflow", "workflow": "other", "inputs": {"n": "${n}"}}]}
         ]}
        """

    @Test func everyStepKindAndTriggerParses() throws {
        let w = try Workflow(parsing: Self.full)
        #expect(w.name == "triage" && w.version == 2)
        #expect(w.allSteps.map(\.kind.name) == ["http", "agent", "tool", "mcp", "condition", "wait", "approval", "loop", "workflow"])
        #expect(w.triggers.map(\.name) == ["webhook", "cron", "files", "completion", "manual"])
        #expect(w.steps[0].retry == RetryPolicy(attempts: 3, backoff: 0.5))
        #expect(w.steps[0].timeout == 5)
    }

    /// Every example in contrib/workflows parses and matches the shipped schema's required fields.
    @Test func shippedExamplesParse() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("contrib/workflows")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter {
            $0.hasSuffix(".json") && !$0.contains("schema")
        }
        #expect(files.count >= 3)
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            #expect(throws: Never.self, "\(file)") { try Workflow(parsing: text) }
        }
        let schema = try JSONValue(parsing: try String(contentsOf: folder.appendingPathComponent("workflow.schema.json"), encoding: .utf8))
        #expect(schema["required"] == ["name", "steps"])
        // The schema lists every step type the parser knows.
        #expect(
            schema["$defs"]?["step"]?["properties"]?["type"]?["enum"] == [
                "agent", "tool", "mcp", "http", "condition", "loop", "wait", "workflow", "approval",
            ])
    }

    func error(_ text: String) -> String {
        do {
            _ = try Workflow(parsing: text)
            return "parsed"
        } catch {
            return error.description
        }
    }

    @Test func badFilesNameTheStepAndTheField() {
        #expect(error("{").hasPrefix("the workflow is not valid JSON"))
        #expect(error(#"{"name": "a", "steps": []}"#) == "workflow field `steps`: must be a non-empty array of steps")
        #expect(error(#"{"name": "a b", "steps": [{"id": "x", "type": "wait", "seconds": 1}]}"#).contains("field `name`"))
        #expect(
            error(#"{"name": "a", "steps": [{"id": "x", "type": "teleport"}]}"#)
                == "step `x`, field `type`: `teleport` is not a step type; use one of agent, tool, mcp, http, condition, loop, wait, workflow, approval"
        )
        #expect(error(#"{"name": "a", "steps": [{"id": "get", "type": "http"}]}"#) == "step `get`, field `url`: is required")
        #expect(
            error(#"{"name": "a", "steps": [{"id": "get", "type": "http", "url": "file:///etc/passwd"}]}"#).hasPrefix(
                "step `get`, field `url`"))
        #expect(error(#"{"name": "a", "steps": [{"id": "w", "type": "wait", "seconds": 1e300}]}"#).hasPrefix("step `w`, field `seconds`"))
        #expect(error(#"{"name": "a", "steps": [{"id": "w", "type": "wait", "seconds": -1}]}"#).hasPrefix("step `w`, field `seconds`"))
        #expect(
            error(#"{"name": "a", "steps": [{"id": "w", "type": "wait", "seconds": 1, "colour": 1}]}"#).hasPrefix(
                "step `w`, field `colour`: unknown field"))
        #expect(
            error(#"{"name": "a", "steps": [{"id": "w", "type": "wait", "seconds": 1, "retry": {"attempts": 1e300}}]}"#).hasPrefix(
                "step `w`, field `retry.attempts`"))
        #expect(
            error(#"{"name": "a", "steps": [{"id": "w", "type": "wait", "seconds": 1, "timeout": 0}]}"#).hasPrefix(
                "step `w`, field `timeout`"))
        #expect(
            error(#"{"name": "a", "steps": [{"id": "w", "type": "wait", "seconds": 1}, {"id": "w", "type": "wait", "seconds": 2}]}"#)
                == "step `w`, field `id`: another step already has this id")
        #expect(
            error(#"{"name": "a", "steps": [{"id": "l", "type": "loop", "over": [1], "steps": [{"id": "in", "type": "nope"}]}]}"#)
                .hasPrefix("step `in`, field `type`"))
        #expect(
            error(#"{"name": "a", "steps": [{"id": "c", "type": "condition", "if": {"between": [1, 2]}, "then": []}]}"#)
                .hasPrefix("step `c`, field `if.between`"))
        #expect(
            error(
                #"{"name": "a", "steps": [{"id": "w", "type": "wait", "seconds": 1}], "triggers": [{"type": "cron", "schedule": "61 * * * *"}]}"#
            )
                == "workflow field `triggers[0].schedule`: minute `61` is not in 0-59")
        #expect(
            error(
                #"{"name": "a", "steps": [{"id": "w", "type": "wait", "seconds": 1}], "triggers": [{"type": "cron", "schedule": "* * * * *", "time_zone": "Mars/Olympus"}]}"#
            )
            .hasPrefix("workflow field `triggers[0].time_zone`"))
    }
}

@Suite("Cron schedules")
struct CronScheduleTests {
    func date(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

    @Test func weekdayMorningsInParis() throws {
        let s = try CronSchedule(parsing: "30 7 * * mon-fri")
        let paris = TimeZone(identifier: "Europe/Paris")!
        // Friday 2026-12-04 08:00 Paris (07:00Z) -> Monday 07:30 Paris (06:30Z, winter time).
        #expect(s.next(after: date("2026-12-04T07:00:00Z"), in: paris) == date("2026-12-07T06:30:00Z"))
        #expect(s.next(after: date("2026-07-01T00:00:00Z"), in: paris) == date("2026-07-01T05:30:00Z"))  // summer time
    }

    @Test func stepsListsAndShorthands() throws {
        let utc = TimeZone(identifier: "UTC")!
        #expect(
            try CronSchedule(parsing: "*/15 * * * *").next(after: date("2026-01-01T00:07:00Z"), in: utc) == date("2026-01-01T00:15:00Z"))
        #expect(
            try CronSchedule(parsing: "0 9,17 * * *").next(after: date("2026-01-01T09:00:00Z"), in: utc) == date("2026-01-01T17:00:00Z"))
        #expect(try CronSchedule(parsing: "@daily").next(after: date("2026-01-01T00:00:00Z"), in: utc) == date("2026-01-02T00:00:00Z"))
        // Both day fields restricted: either matches (the 13th, or any Friday).
        #expect(try CronSchedule(parsing: "0 0 13 * 5").next(after: date("2026-01-01T00:00:00Z"), in: utc) == date("2026-01-02T00:00:00Z"))
        #expect(try CronSchedule(parsing: "0 0 29 2 *").next(after: date("2026-03-01T00:00:00Z"), in: utc) == date("2028-02-29T00:00:00Z"))
        #expect(try CronSchedule(parsing: "0 0 31 2 *").next(after: date("2026-01-01T00:00:00Z"), in: utc) == nil)
    }

    /// 02:30 does not exist in Paris on the last Sunday of March: that day does not fire.
    @Test func aSkippedLocalTimeDoesNotFire() throws {
        let paris = TimeZone(identifier: "Europe/Paris")!
        let next = try CronSchedule(parsing: "30 2 * * *").next(after: date("2026-03-28T12:00:00Z"), in: paris)
        #expect(next == date("2026-03-30T00:30:00Z"))
    }

    @Test func hostileSchedulesAreRefused() {
        for bad in [
            "", "* * * *", "60 * * * *", "*/0 * * * *", "5-1 * * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "a b c d e",
            "9223372036854775807 * * * *", "*/99999999999999999999 * * * *", "1,,2 * * * *",
        ] {
            #expect(throws: CronSchedule.ParseError.self, "\(bad)") { try CronSchedule(parsing: bad) }
        }
    }
}

@Suite("Webhook signatures")
struct WebhookSignatureTests {
    @Test func onlyTheRightSecretOverTheExactBodyPasses() throws {
        let body = Array(#"{"title":"crash"}"#.utf8)
        let signature = WebhookSignature.sign(body, secret: "s3cret")
        try WebhookSignature.verify(body, signature: signature, secret: "s3cret")
        #expect(throws: WorkflowError.self) { try WebhookSignature.verify(body, signature: nil, secret: "s3cret") }
        #expect(throws: WorkflowError.self) { try WebhookSignature.verify(body, signature: signature, secret: "other") }
        #expect(throws: WorkflowError.self) { try WebhookSignature.verify(body + [0x20], signature: signature, secret: "s3cret") }
        #expect(throws: WorkflowError.self) { try WebhookSignature.verify(body, signature: "sha256=zz", secret: "s3cret") }
        #expect(throws: WorkflowError.self) { try WebhookSignature.verify(body, signature: String(signature.dropLast()), secret: "s3cret") }
    }
}
