import AnimaCore
import AnimaKernel
import AnimaMemory
import AnimaProcessor
import AnimaSecurity
import AnimaStorage
import AnimaTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AnimaWeb

/// Chat, the context window, processors and metrics, as a signed-in person sees them.
@Suite struct ConsoleChatTests {
    static let payload = "<script>alert('x')</script><img src=x onerror=alert(1)>"

    /// Polls `uri` until its body holds `text` (about ten seconds at most).
    static func waitFor(_ text: String, at uri: String, cookie: String, client: any TestClientProtocol) async throws -> String {
        var body = ""
        for _ in 0..<500 {
            body = String(buffer: try await ConsoleHarness.get(client, uri, cookie: cookie).body)
            if body.contains(text) { return body }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("\(uri) never showed \(text); last:\n\(body)")
        return body
    }

    @Test func aChatStreamsAndShowsEachToolCallWithItsDecisionAndProvenance() async throws {
        let processor = ScriptedProcessor(slots: 1, scheduler: Scheduler()) { request in
            switch request.messages.filter({ $0.role == .tool }).count {
            case 0: return .toolCalls([ToolCall(id: "c1", name: "read_inbox", arguments: [:])])
            case 1: return .toolCalls([ToolCall(id: "c2", name: "send_email", arguments: ["to": .string(Self.payload)])])
            default: return .text("done: " + Self.payload)
            }
        }
        processor.startStepping()
        let sent = ConsoleApprovalTests.Sent()
        let policy = try SecurityPolicy(json: #"{"default": {"allow": ["user", "system"], "onViolation": "ask"}}"#)
        let kernel = Kernel(
            .init(
                processor: processor, tools: [ConsoleApprovalTests.Inbox(), ConsoleApprovalTests.Mailer(sent: sent)],
                audit: MemoryAuditTrail(), security: .policyOnly(policy)))
        let harness = try ConsoleHarness(kernel: kernel)
        try await harness.test { client in
            let cookie = try #require(ConsoleHarness.cookie(try await harness.register(SoftwareAuthenticator(), client: client)))
            let csrf = ConsoleStore.csrfToken(secret: cookie)
            let start = String(buffer: try await ConsoleHarness.get(client, "/web/chat", cookie: cookie).body)
            #expect(start.contains("value=\"send_email\"") && start.contains("No conversations started here yet."))
            let (h, b) = ConsoleHarness.form(
                [("csrf", csrf), ("name", Self.payload), ("text", "Answer my latest email " + Self.payload), ("tool", "read_inbox"),
                 ("tool", "send_email")], cookie: cookie)
            let started = try await client.execute(uri: "/web/chat", method: .post, headers: h, body: b)
            #expect(started.status == .seeOther)
            let location = try #require(started.headers[.location])
            #expect(location.hasPrefix("/web/chat/"))
            let pid = PID(try #require(UInt32(location.dropFirst("/web/chat/".count))))

            // The inbox's result is shown with its provenance; the send waits for an answer.
            let waiting = try await Self.waitFor("Waits for your approval", at: location, cookie: cookie, client: client)
            #expect(waiting.contains("Tool call read_inbox"))
            #expect(waiting.contains("from email") && waiting.contains("(untrusted)"))
            #expect(waiting.contains("send_email: to from"))
            #expect(!waiting.contains("<script>alert") && !waiting.contains("<img src=x"))
            #expect(waiting.contains("data-live=\"/web/chat/\(pid.rawValue)/live\""))
            let request = try #require(await kernel.approvals.pending(for: pid).first)
            let (ah, ab) = ConsoleHarness.form([("decision", "approve"), ("csrf", csrf)], cookie: cookie)
            #expect(try await client.execute(uri: "/web/approvals/\(pid.rawValue)/\(request.id)", method: .post, headers: ah, body: ab).status == .seeOther)
            let answered = try await Self.waitFor("done: ", at: location + "?partial=transcript", cookie: cookie, client: client)
            #expect(answered.contains("Approval:</strong> approved"))
            #expect(answered.contains("Allowed by the policy; result"))
            #expect(answered.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") && !answered.contains("<script>alert"))
            #expect(!answered.contains("<html"))  // the partial is the transcript alone
            #expect(sent.list.withLock { $0 } == [Self.payload])

            // The next turn goes to the same agent, as its owner's words.
            let (th, tb) = ConsoleHarness.form([("csrf", csrf), ("text", "thanks")], cookie: cookie)
            #expect(try await client.execute(uri: location, method: .post, headers: th, body: tb).status == .seeOther)
            _ = try await Self.waitFor("thanks", at: location, cookie: cookie, client: client)
            // Refused: no CSRF token, an empty or huge turn, another user's conversation.
            let (nh, nb) = ConsoleHarness.form([("text", "x")], cookie: cookie)
            #expect(try await client.execute(uri: location, method: .post, headers: nh, body: nb).status == .forbidden)
            for text in ["", "   ", String(repeating: "a", count: 16 * 1024 + 1)] {
                let (eh, eb) = ConsoleHarness.form([("csrf", csrf), ("text", text)], cookie: cookie)
                #expect(try await client.execute(uri: location, method: .post, headers: eh, body: eb).status == .badRequest)
            }
            let (uh, ub) = ConsoleHarness.form([("csrf", csrf), ("text", "x"), ("tool", "no_such_tool")], cookie: cookie)
            #expect(try await client.execute(uri: "/web/chat", method: .post, headers: uh, body: ub).status == .badRequest)
            let bob = try #require(
                ConsoleHarness.cookie(try await harness.register(SoftwareAuthenticator(), client: client, user: "bob")))
            #expect(try await ConsoleHarness.get(client, location, cookie: bob).status == .notFound)
            #expect(!String(buffer: try await ConsoleHarness.get(client, "/web/chat", cookie: bob).body).contains(location))
            let (bh, bb) = ConsoleHarness.form([("csrf", ConsoleStore.csrfToken(secret: bob)), ("text", "hijack")], cookie: bob)
            #expect(try await client.execute(uri: location, method: .post, headers: bh, body: bb).status == .notFound)
            #expect(try await ConsoleHarness.get(client, location, cookie: nil).status == .seeOther)
            #expect(try await ConsoleHarness.get(client, location + "/live", cookie: nil).status == .unauthorized)
            try await kernel.signal(pid, .terminate, from: Principal(name: "alice", groups: ["users"]))
        }
    }

    @Test func theContextWindowShowsResidentEvictedPagedInAndTheBudget() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("anima-web-context-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try await MemoryStore.open(.directory(directory), key: .generate())
        let model = ScriptedModel(name: "rememberer", contextLength: 4096) { _ in .text("Noted " + Self.payload) }
        let kernel = Kernel(.init(processor: model, memory: MemorySystem(store: store, embedder: nil), audit: MemoryAuditTrail()))
        let alice = Principal(name: "alice", groups: ["users"])
        for task in ["My sister is Ada " + Self.payload, "And my brother is Bo"] {
            _ = try await kernel.wait(try await kernel.spawn(AgentSpec(name: "a", task: task, memory: "assistant"), owner: alice))
        }
        _ = try await kernel.wait(
            try await kernel.spawn(AgentSpec(name: "b", task: "bob's secret", memory: "assistant"), owner: Principal(name: "bob", groups: ["users"])))
        let harness = try ConsoleHarness(kernel: kernel)
        try await harness.test { client in
            let cookie = try #require(ConsoleHarness.cookie(try await harness.register(SoftwareAuthenticator(), client: client)))
            let page = try await ConsoleHarness.get(client, "/web/context?agent=assistant", cookie: cookie)
            #expect(page.status == .ok)
            let html = String(buffer: page.body)
            #expect(html.contains("<option value=\"assistant\" selected>"))
            #expect(html.contains("4 message(s) stored"))
            #expect(html.contains("<svg class=\"chart\"") && html.contains("of 4096 tokens"))
            #expect(html.contains("My sister is Ada &lt;script&gt;") && !html.contains("<script>alert") && !html.contains("<img src=x"))
            #expect(!html.contains("bob&#39;s secret") && !html.contains("bob's secret"))
            #expect(html.contains("Core memory") && html.contains("Resident messages"))
        }
    }

    @Test func metricsAndProcessorsAreChartsThatEscapeWhatTheyLabel() async throws {
        let harness = try ConsoleHarness()
        _ = try await harness.spawn(Self.payload)
        try await harness.test { client in
            let cookie = try #require(ConsoleHarness.cookie(try await harness.register(SoftwareAuthenticator(), client: client)))
            let metrics = String(buffer: try await ConsoleHarness.get(client, "/web/metrics", cookie: cookie).body)
            #expect(metrics.contains("<svg class=\"chart\"") && metrics.contains("Processes by state"))
            #expect(!metrics.contains("<script>alert") && !metrics.contains("<img src=x") && metrics.contains("&lt;script&gt;"))
            let processors = String(buffer: try await ConsoleHarness.get(client, "/web/processors", cookie: cookie).body)
            #expect(processors.contains("This daemon has no model loaded."))
        }
    }

    @Test func theRoutersDecisionsBecomeCostLatencyAndServedPlots() async {
        let watch = RouterWatch()
        let start = Date(timeIntervalSince1970: 1_000)
        func decision(_ id: UInt64, _ model: String) -> RoutingDecision {
            RoutingDecision(
                id: id, date: start, taskClass: "chat", privacy: .public, staysLocal: false, order: [model], excluded: [], deferred: [],
                estimatedPromptTokens: 10, estimatedCost: 0.001, reason: "cheapest that fits")
        }
        await watch.note(.decided(decision(1, Self.payload)), at: nil)
        await watch.note(.decided(decision(2, "local")), at: nil)
        await watch.note(.completed(decision: 1, servedBy: Self.payload, usage: Usage(promptTokens: 10, completionTokens: 5), cost: 0.25), at: start.addingTimeInterval(1.5))
        await watch.note(.completed(decision: 2, servedBy: "local", usage: Usage(promptTokens: 3, completionTokens: 1), cost: 0), at: start.addingTimeInterval(0.25))
        await watch.note(.decided(decision(1, "again")), at: nil)  // a repeat changes nothing
        let recent = await watch.recent()
        #expect(recent.map(\.id) == [2, 1])
        #expect(recent.last?.seconds == 1.5 && recent.last?.cost == 0.25 && recent.last?.tokens == 15)
        let data = InsightRoutes.decisionData(recent)
        let charts = ["servedChart", "costChart", "latencyChart"].compactMap { data[$0] as? String }
        #expect(charts.count == 3)
        for chart in charts {
            #expect(chart.hasPrefix("<svg") && !chart.contains("<script>") && !chart.contains("<img"))
            #expect(chart.contains("&lt;script&gt;"))
        }
        #expect(charts[2].contains("1.50 s") && charts[1].contains("0.25 $"))
        // Non-finite and negative values draw nothing, and say so.
        let odd = SVGChart.bars("odd", [("nan", .nan), ("inf", .infinity), ("neg", -1e300), ("big", 1e300)], unit: "")
        #expect(odd.contains("n/a") && !odd.contains("nan\"") && !odd.contains("width=\"-"))
    }
}
