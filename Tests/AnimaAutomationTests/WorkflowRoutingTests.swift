import AnimaAutomation
import AnimaCore
import AnimaTesting
import Foundation
import Testing

/// Runs go to a daemon that can serve them: engines sharing a queue lease only the runs
/// whose needs (a processor, a model, tools, groups) they hold; the others wait, saying why.
@Suite("Workflow routing by what a daemon serves", .serialized)
struct WorkflowRoutingTests {
    static let think = #"""
        {"name": "think", "steps": [
          {"id": "check", "type": "condition", "if": {"eq": ["${inputs.x}", 1]},
           "then": [{"id": "a", "type": "agent", "task": "summarise", "tools": ["calculator"], "model": "tiny"}], "else": []},
          {"id": "m", "type": "mcp", "server": "mail", "tool": "send", "arguments": {}}]}
        """#
    static let sum = #"{"name": "sum", "steps": [{"id": "t", "type": "tool", "tool": "calculator", "arguments": {"expression": "1+1"}}]}"#
    static let fetch = #"""
        {"name": "fetch", "groups": ["net"], "steps": [
          {"id": "get", "type": "http", "method": "GET", "url": "http://127.0.0.1:9/feed"},
          {"id": "a", "type": "agent", "task": "summarise", "groups": ["datasets-health"]}]}
        """#

    @Test func needsCoverNestedStepsAndServingNamesModelsAndTools() throws {
        #expect(try Workflow(parsing: Self.think).needs == ["model", "model:tiny", "tool:calculator", "tool:mail__send"])
        #expect(try Workflow(parsing: Self.sum).needs == ["tool:calculator"])
        #expect(try Workflow(parsing: Self.fetch).needs == ["group:net", "group:datasets-health", "model"])
        #expect(WorkflowEngine.serving(models: [], tools: ["calculator"], groups: []) == ["tool:calculator"])
        #expect(WorkflowEngine.serving(models: ["tiny"], tools: [], groups: ["net"]) == ["model", "model:tiny", "group:net"])
        #expect(try Workflow(parsing: Self.sum).unmetNeeds(servedBy: nil).isEmpty)
        #expect(try Workflow(parsing: Self.think).unmetNeeds(servedBy: ["tool:calculator"]) == ["model", "model:tiny", "tool:mail__send"])
    }

    /// A worker without a model queues the agent run it was asked to start and never leases
    /// it; the daemon that serves it does; a run both can serve goes to either.
    static func routes(_ store: any WorkflowStore) async throws {
        let worker = WorkflowEngine(
            store: store, actions: RecordingActions(), worker: "tools-only", pollInterval: .milliseconds(10),
            serving: WorkflowEngine.serving(models: [], tools: ["calculator"], groups: ["users"]))
        let daemon = WorkflowEngine(
            store: store, actions: RecordingActions(), worker: "daemon", pollInterval: .milliseconds(10),
            serving: WorkflowEngine.serving(models: ["tiny"], tools: ["calculator", "mail__send"], groups: ["users"]))
        _ = try await worker.add(Self.think, owner: alice)
        _ = try await worker.add(Self.sum, owner: alice)

        let thinking = try await worker.start("think", inputs: ["x": 1], caller: alice)
        await worker.resumeAll()
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await store.run(thinking.id)?.status == .pending)
        let note = try await store.history(run: thinking.id).first { $0.event == "queued" }
        #expect(
            note?.detail == "tools-only does not serve model, model:tiny, tool:mail__send; it waits for a daemon that does",
            "\(String(describing: note))")
        await daemon.resumeAll()
        let done = try await daemon.wait(thinking.id)
        #expect(done.status == .completed, "\(done.error ?? "")")
        #expect(try await store.history(run: thinking.id).contains { $0.event == "leased" && $0.detail == "by daemon" })

        let summing = try await worker.start("sum", caller: alice)
        #expect(try await worker.wait(summing.id).status == .completed)
        #expect(try await store.history(run: summing.id).contains { $0.event == "leased" && $0.detail == "by tools-only" })
        // What a serving set lacks keeps the run from it at every way in: claim and lease alike.
        let another = try await daemon.start("think", inputs: ["x": 2], caller: alice, dispatch: false)
        #expect(try await store.claim(another.id, worker: "tools-only", leaseSeconds: 30, serving: ["tool:calculator"]) == false)
        #expect(try await store.leaseRuns(worker: "tools-only", leaseSeconds: 30, limit: 10, skipping: [], serving: ["tool:calculator"]).isEmpty)
        #expect(try await store.claim(another.id, worker: "any", leaseSeconds: 30, serving: nil))
    }

    /// A run asking for a group goes to the engine that serves it: the one without `net`
    /// (no network on its machine) queues it, saying so, and the one with it runs it.
    static func routesByGroup(_ store: any WorkflowStore) async throws {
        let offline = WorkflowEngine(
            store: store, actions: RecordingActions(), worker: "offline", pollInterval: .milliseconds(10),
            serving: WorkflowEngine.serving(models: ["tiny"], tools: [], groups: ["users", "datasets-health"]))
        let online = WorkflowEngine(
            store: store, actions: RecordingActions(), worker: "online", pollInterval: .milliseconds(10),
            serving: WorkflowEngine.serving(models: ["tiny"], tools: [], groups: ["users", "net", "datasets-health"]))
        _ = try await offline.add(Self.fetch, owner: alice)
        let run = try await offline.start("fetch", caller: alice)
        await offline.resumeAll()
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await store.run(run.id)?.status == .pending)
        let note = try await store.history(run: run.id).first { $0.event == "queued" }
        #expect(note?.detail == "offline does not serve group:net; it waits for a daemon that does", "\(String(describing: note))")
        #expect(try await store.claim(run.id, worker: "offline", leaseSeconds: 30, serving: offline.serving) == false)
        await online.resumeAll()
        #expect(try await online.wait(run.id).status == .completed)
        #expect(try await store.history(run: run.id).contains { $0.event == "leased" && $0.detail == "by online" })
    }

    @Test func onSQLite() async throws {
        try await Self.routes(try temporaryStore())
        try await Self.routesByGroup(try temporaryStore())
    }

    @Test(.timeLimit(.minutes(2))) func onPostgreSQL() async throws {
        let url = try await PostgresTestServer.freshDatabaseURL()
        let keys = PostgresWorkflowStoreTests.keyDirectory()
        defer { try? FileManager.default.removeItem(at: keys) }
        let store = try PostgresWorkflowStore(url: url, keyDirectory: keys)
        try await Self.routes(store)
        try await Self.routesByGroup(store)
        await store.close()
    }
}
