import AnimaCore
import AnimaKernel
import AnimaProcessor
import AnimaSecurity
import AnimaTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import AnimaWeb

/// A policy's "ask" answered from the console: shown with each argument's provenance,
/// escaped, and decided by the owner's form.
@Suite struct ConsoleApprovalTests {
    final class Sent: Sendable {
        let list = Mutex<[String]>([])
    }

    struct Mailer: SystemTool {
        let sent: Sent
        var definition: ToolDefinition {
            ToolDefinition(
                name: "send_email", description: "send",
                parameters: try! JSONSchema(["type": "object", "properties": ["to": ["type": "string"]], "required": ["to"]]))
        }
        var effect: ToolEffect { .network }
        var outputSource: ProvenanceSource { .tool("send_email") }
        func run(_ arguments: JSONValue, for caller: ProcessCredentials) async throws -> ToolOutput {
            sent.list.withLock { $0.append(arguments["to"]?.stringValue ?? "") }
            return ToolOutput(text: "sent")
        }
    }

    struct Inbox: SystemTool {
        var definition: ToolDefinition {
            ToolDefinition(name: "read_inbox", description: "read", parameters: try! JSONSchema(["type": "object", "properties": [:]]))
        }
        var effect: ToolEffect { .readOnly }
        var outputSource: ProvenanceSource { .email }
        func run(_ arguments: JSONValue, for caller: ProcessCredentials) async throws -> ToolOutput {
            ToolOutput(text: "From: <script>alert(1)</script>@evil.example")
        }
    }

    @Test func aPendingCallIsShownAndApprovedFromTheConsole() async throws {
        let to = "<script>alert(1)</script>@evil.example"
        let processor = ScriptedProcessor(slots: 1, scheduler: Scheduler()) { request in
            switch request.messages.filter({ $0.role == .tool }).count {
            case 0: return .toolCalls([ToolCall(id: "c1", name: "read_inbox", arguments: [:])])
            case 1: return .toolCalls([ToolCall(id: "c2", name: "send_email", arguments: ["to": .string(to)])])
            default: return .text("done")
            }
        }
        let sent = Sent()
        let policy = try SecurityPolicy(json: #"{"default": {"allow": ["user", "system"], "onViolation": "ask"}}"#)
        let kernel = Kernel(
            .init(processor: processor, tools: [Inbox(), Mailer(sent: sent)], audit: MemoryAuditTrail(), security: .policyOnly(policy)))
        let harness = try ConsoleHarness(kernel: kernel)
        try await harness.test { client in
            let cookie = try #require(ConsoleHarness.cookie(try await harness.register(SoftwareAuthenticator(), client: client)))
            let pid = try await kernel.spawn(
                AgentSpec(task: "Answer my latest email", tools: ["read_inbox", "send_email"]),
                owner: Principal(name: "alice", groups: ["users"]))
            // What an open console page does through /web/approvals/live: watch the process.
            // The model starts only then: a call asked before anyone watches is unanswered at
            // once, and under load the agent reached its call first (the test failed so).
            await kernel.approvals.watch(pid)
            processor.startStepping()
            var pending: [ApprovalRequest] = []
            for _ in 0..<200 where pending.isEmpty {
                pending = await kernel.approvals.pending(for: pid)
                try await Task.sleep(for: .milliseconds(20))
            }
            let request = try #require(pending.first)
            let html = String(buffer: try await ConsoleHarness.get(client, "/web/approvals", cookie: cookie).body)
            #expect(html.contains("wants to call send_email"))
            #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;@evil.example") && !html.contains("<script>alert"))
            #expect(html.contains("(untrusted)"))
            let (h, b) = ConsoleHarness.form([("decision", "approve"), ("csrf", ConsoleStore.csrfToken(secret: cookie))], cookie: cookie)
            let answered = try await client.execute(uri: "/web/approvals/\(pid.rawValue)/\(request.id)", method: .post, headers: h, body: b)
            #expect(answered.status == .seeOther)
            guard case .completed = try await kernel.wait(pid) else {
                Issue.record("the approved agent did not complete")
                return
            }
            #expect(sent.list.withLock { $0 } == [to])
            await kernel.approvals.unwatch(pid)
        }
    }

    @Test func theToolsViewShowsEachToolsEffectGroupsAndSourceUnderThePolicy() async throws {
        let policy = try SecurityPolicy(json: #"{"default": {"allow": ["user"]}, "tools": {"read_inbox": {"effect": "network"}}}"#)
        let kernel = Kernel(.init(processor: nil, tools: [Inbox(), Mailer(sent: Sent())], audit: MemoryAuditTrail(), security: .policyOnly(policy)))
        let harness = try ConsoleHarness(kernel: kernel)
        try await harness.test { client in
            let cookie = try #require(ConsoleHarness.cookie(try await harness.register(SoftwareAuthenticator(), client: client)))
            let html = String(buffer: try await ConsoleHarness.get(client, "/web/tools", cookie: cookie).body)
            let mailer = try #require(html.range(of: "<h2 id=\"tool-send_email\">").map { String(html[$0.lowerBound...].prefix(600)) })
            #expect(mailer.contains("<dd>network</dd>") && mailer.contains("<dd>tool:send_email</dd>") && mailer.contains("<dd>built-in</dd>"))
            let inbox = try #require(html.range(of: "<h2 id=\"tool-read_inbox\">").map { String(html[$0.lowerBound...].prefix(600)) })
            #expect(inbox.contains("<dd>network (set by the policy)</dd>") && inbox.contains("<dd>email</dd>"), "\(inbox)")
        }
    }
}
