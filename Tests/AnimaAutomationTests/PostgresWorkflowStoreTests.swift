import AnimaAutomation
import AnimaCore
import AnimaTesting
import Foundation
import Testing

/// The shared run queue on a real PostgreSQL (pgserver): the same durable semantics as
/// SQLite, leases taken with SKIP LOCKED by engines with their own connections.
@Suite("Workflows on PostgreSQL", .serialized)
struct PostgresWorkflowStoreTests {
    static func store(_ url: String, key: URL) throws -> PostgresWorkflowStore {
        try PostgresWorkflowStore(url: url, keyDirectory: key)
    }

    static func keyDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("anima-wf-pg-\(UUID().uuidString)")
    }

    @Test(.timeLimit(.minutes(2))) func aRunCompletesWithItsHistoryAndSealedValues() async throws {
        let url = try await PostgresTestServer.freshDatabaseURL()
        let keys = Self.keyDirectory()
        defer { try? FileManager.default.removeItem(at: keys) }
        let store = try Self.store(url, key: keys)
        let actions = RecordingActions()
        let engine = WorkflowEngine(store: store, actions: actions, pollInterval: .milliseconds(10))
        _ = try await engine.add(
            #"""
            {"name": "pg", "groups": ["net"], "steps": [
              {"id": "get", "type": "http", "url": "https://api.example/items?q=${inputs.topic}"},
              {"id": "post", "type": "http", "method": "POST", "url": "https://api.example/n", "body": {"secret": "${inputs.topic}"}}]}
            """#, owner: alice)
        let run = try await engine.wait(try await engine.start("pg", inputs: ["topic": "zebra-secret-42"], caller: alice).id)
        #expect(run.status == .completed, "\(run.error ?? "")")
        #expect(actions.keys == ["\(run.id)/get", "\(run.id)/post"])
        let events = try await store.history(run: run.id).map(\.event)
        #expect(events == ["created", "leased", "step-started", "step-completed", "step-started", "step-completed", "completed"])
        #expect(try await store.steps(run: run.id).map(\.status) == [.completed, .completed])
        #expect(run.inputs.value["topic"]?.stringValue == "zebra-secret-42")
        // A second start with the same id gives back the run unchanged (idempotent start).
        let again = try await engine.start("pg", inputs: ["topic": "other"], caller: alice, id: run.id, dispatch: false)
        #expect(again.status == .completed && again.inputs.value["topic"]?.stringValue == "zebra-secret-42")
        // The database holds no value in the clear.
        let dump = try await store.rawText()
        #expect(!dump.isEmpty && !dump.contains("zebra-secret-42"))
        // Another key is refused before anything is written, with what to do.
        let other = Self.keyDirectory()
        defer { try? FileManager.default.removeItem(at: other) }
        let wrong = try Self.store(url, key: other)
        let error = await #expect(throws: WorkflowError.self) { _ = try await wrong.workflows() }
        #expect(error?.description.contains("copy workflows.key") == true, "\(String(describing: error))")
        await wrong.close()
        await store.close()
    }

    @Test func badURLsAreRefusedWithTheForm() throws {
        for url in ["mysql://x@h/db", "postgres://h/db", "postgres://u@h/", "postgres://u@h:70000/db", "postgres://u@h/db?sslmode=maybe"] {
            let error = #expect(throws: WorkflowError.self, "\(url)") { _ = try PostgresWorkflowLocation(url: url) }
            #expect(error?.description.contains("postgres://USER:PASSWORD@HOST:PORT/DATABASE") == true, "\(String(describing: error))")
        }
        let location = try PostgresWorkflowLocation(url: "postgres://anima:hunter2@db.example:6543/runs")
        #expect(location.description == "postgres://anima@db.example:6543/runs")  // no password in logs
    }

    /// Three engines, each with its own connections, drain one queue: every run completes,
    /// every step acts once, and the runs spread over the engines.
    @Test(.timeLimit(.minutes(2))) func threeEnginesShareOneQueueAndActOnce() async throws {
        let url = try await PostgresTestServer.freshDatabaseURL()
        let keys = Self.keyDirectory()
        defer { try? FileManager.default.removeItem(at: keys) }
        let actions = RecordingActions()
        actions.delay("/slow", seconds: 0.05)
        let stores = try (0..<3).map { _ in try Self.store(url, key: keys) }
        let engines = stores.enumerated().map { i, store in
            WorkflowEngine(
                store: store, actions: actions, worker: "engine-\(i)", leaseSeconds: 5, pollInterval: .milliseconds(10),
                maxConcurrentRuns: 3)
        }
        _ = try await engines[0].add(
            #"""
            {"name": "spread", "groups": ["net"], "steps": [
              {"id": "a", "type": "http", "url": "https://api.example/slow"},
              {"id": "b", "type": "http", "url": "https://api.example/slow"}]}
            """#, owner: alice)
        var ids: [String] = []
        for _ in 0..<18 { ids.append(try await engines[0].start("spread", caller: alice, dispatch: false).id) }
        let serving = engines.map { e in Task { await e.serve(poll: .milliseconds(10)) } }
        for id in ids {
            let run = try await engines[0].wait(id)
            #expect(run.status == .completed, "\(run.error ?? "")")
        }
        serving.forEach { $0.cancel() }
        #expect(actions.keys.count == 36 && Set(actions.keys).count == 36)
        // Who ran what: each run's step history names the lease owner only through the store,
        // so count the engines that started a step from the leases they held.
        var owners: Set<String> = []
        for id in ids { owners.formUnion(try await stores[0].leaseOwner(of: id).map { [$0] } ?? []) }
        #expect(owners.count >= 2, "runs did not spread: \(owners)")
        for store in stores { await store.close() }
    }

    /// Runs that end together each look for the next while the store answers over the
    /// network: the engine still runs at most its capacity at once (each ending run leased
    /// the same free slots, and one worker with 4 slots ran up to all of its runs at once).
    @Test(.timeLimit(.minutes(2))) func runsEndingTogetherStayWithinTheCapacity() async throws {
        let url = try await PostgresTestServer.freshDatabaseURL()
        let keys = Self.keyDirectory()
        defer { try? FileManager.default.removeItem(at: keys) }
        let store = try Self.store(url, key: keys)
        let actions = RecordingActions()
        actions.delay("/slow", seconds: 0.1)
        let engine = WorkflowEngine(
            store: store, actions: actions, worker: "one", leaseSeconds: 10, pollInterval: .milliseconds(10), maxConcurrentRuns: 4)
        _ = try await engine.add(
            #"{"name": "slow", "groups": ["net"], "steps": [{"id": "a", "type": "http", "url": "https://api.example/slow"}]}"#,
            owner: alice)
        var ids: [String] = []
        for _ in 0..<40 { ids.append(try await engine.start("slow", caller: alice, dispatch: false).id) }
        let serving = Task { await engine.serve(poll: .milliseconds(10)) }
        for id in ids { #expect(try await engine.wait(id).status == .completed) }
        serving.cancel()
        #expect(actions.keys.count == 40 && Set(actions.keys).count == 40)
        #expect(actions.peakRunning <= 4, "\(actions.peakRunning) runs ran at once with 4 slots")
        #expect(actions.peakRunning >= 2, "the runs did not overlap at all")
        await store.close()
    }

    /// A daemon that died mid-step: its lease runs out and another engine finishes the run,
    /// acting again only for the step whose result was never recorded (same key).
    @Test(.timeLimit(.minutes(2))) func anExpiredLeaseIsTakenOver() async throws {
        let url = try await PostgresTestServer.freshDatabaseURL()
        let keys = Self.keyDirectory()
        defer { try? FileManager.default.removeItem(at: keys) }
        let store = try Self.store(url, key: keys)
        let actions = RecordingActions()
        let engine = WorkflowEngine(store: store, actions: actions, worker: "alive", leaseSeconds: 5, pollInterval: .milliseconds(10))
        _ = try await engine.add(
            #"""
            {"name": "takeover", "groups": ["net"], "steps": [
              {"id": "a", "type": "http", "url": "https://api.example/a"},
              {"id": "b", "type": "http", "url": "https://api.example/b"}]}
            """#, owner: alice)
        let run = try await engine.start("takeover", caller: alice, id: "pg-r1", dispatch: false)
        #expect(try await store.claim(run.id, worker: "dead", leaseSeconds: 0.5))
        try await store.stepStarted(run: run.id, path: "a", key: "pg-r1/a", attempt: 1)
        try await store.stepCompleted(run: run.id, path: "a", output: LabeledValue(["status": 200], label: .user))
        try await store.stepStarted(run: run.id, path: "b", key: "pg-r1/b", attempt: 1)
        #expect(try await store.leaseRuns(worker: "alive", leaseSeconds: 5, limit: 10, skipping: []).isEmpty)
        try await Task.sleep(for: .milliseconds(600))
        await engine.resumeAll()
        let finished = try await engine.wait(run.id)
        #expect(finished.status == .completed, "\(finished.error ?? "")")
        #expect(actions.keys == ["pg-r1/b"])
        #expect(try await store.step(run: run.id, path: "b")?.attempt == 1)
        await store.close()
    }
}
