import AnimaAutomation
import AnimaCore
import Foundation
import Testing

/// MCP resource servers as several daemons see them: every subscriber gets every update.
final class BroadcastResources: ResourceWatching, @unchecked Sendable {
    let lock = NSLock()
    var streams: [UUID: (uri: String, continuation: AsyncStream<String>.Continuation)] = [:]

    func updates(server: String, uri: String) async throws -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let id = UUID()
        lock.withLock { streams[id] = (uri, continuation) }
        continuation.onTermination = { _ in self.lock.withLock { _ = self.streams.removeValue(forKey: id) } }
        return stream
    }

    var subscribers: Int { lock.withLock { streams.count } }

    /// The server says `uri` changed, to everyone subscribed to it.
    func update(_ uri: String) {
        for entry in lock.withLock({ Array(streams.values) }) where entry.uri == uri { entry.continuation.yield(uri) }
    }
}

@Suite("One resource update, one run, however many daemons")
struct ResourceTriggerLeaseTests {
    static let workflow =
        #"{"name": "on-notes", "triggers": [{"type": "mcp_resource", "server": "notes", "uri": "notes://today"}], "steps": [{"id": "w", "type": "wait", "seconds": 0}]}"#

    func settledRuns(_ store: SQLiteWorkflowStore, expecting count: Int) async throws -> [WorkflowRun] {
        var runs: [WorkflowRun] = []
        for _ in 0..<100 {
            runs = try await store.runs(workflow: "on-notes", limit: 100)
            if runs.count >= count { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        // Long enough for a duplicate from a second daemon to have appeared.
        try await Task.sleep(for: .milliseconds(300))
        return try await store.runs(workflow: "on-notes", limit: 100)
    }

    /// The subscribers once subscribing and dropping have settled (both happen in tasks).
    func subscribers(_ resources: BroadcastResources, settlingOn count: Int) async throws -> Int {
        for _ in 0..<100 where resources.subscribers != count { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(100))
        return resources.subscribers
    }

    @Test(.timeLimit(.minutes(1))) func twoDaemonsStartOneRunPerUpdate() async throws {
        let store = try temporaryStore()
        let resources = BroadcastResources()
        let a = WorkflowEngine(store: store, actions: RecordingActions(), worker: "daemon-a", pollInterval: .milliseconds(10))
        let b = WorkflowEngine(store: store, actions: RecordingActions(), worker: "daemon-b", pollInterval: .milliseconds(10))
        _ = try await a.add(Self.workflow, owner: alice)
        let first = TriggerService(engine: a, resources: resources, resourceLease: 0.5)
        let second = TriggerService(engine: b, resources: resources, resourceLease: 0.5)
        await first.refreshResourceWatchers()
        await second.refreshResourceWatchers()
        #expect(try await subscribers(resources, settlingOn: 1) == 1)

        resources.update("notes://today")
        var runs = try await settledRuns(store, expecting: 1)
        #expect(runs.count == 1, "\(runs.map(\.id))")
        resources.update("notes://today")
        runs = try await settledRuns(store, expecting: 2)
        #expect(runs.count == 2, "\(runs.map(\.id))")
        #expect(runs.allSatisfy { $0.trigger == "mcp_resource" })

        // Renewing keeps it with the first daemon, past the lease's length.
        for _ in 0..<4 {
            try await Task.sleep(for: .milliseconds(200))
            await first.refreshResourceWatchers()
            await second.refreshResourceWatchers()
        }
        #expect(try await subscribers(resources, settlingOn: 1) == 1)
        #expect(try await store.claimTrigger("mcp_resource notes notes://today", worker: "daemon-b", leaseSeconds: 0.5) == false)

        // The first daemon stops renewing (it died): the second takes over once the lease runs out,
        // and the first, back, lets go rather than subscribing twice.
        try await Task.sleep(for: .milliseconds(700))
        await second.refreshResourceWatchers()
        await first.refreshResourceWatchers()
        #expect(try await subscribers(resources, settlingOn: 1) == 1)
        resources.update("notes://today")
        runs = try await settledRuns(store, expecting: 3)
        #expect(runs.count == 3, "\(runs.map(\.id))")
        #expect(try await store.claimTrigger("mcp_resource notes notes://today", worker: "daemon-a", leaseSeconds: 0.5) == false)
    }

    /// Renewing a batch of leases returns the runs still held; one another worker took is left out.
    @Test func theHeartbeatRenewsOnlyWhatItStillHolds() async throws {
        let store = try temporaryStore()
        let e = WorkflowEngine(store: store, actions: RecordingActions(), worker: "w", pollInterval: .milliseconds(10))
        _ = try await e.add(#"{"name": "w", "steps": [{"id": "w", "type": "wait", "seconds": 0}]}"#, owner: alice)
        var ids: [String] = []
        for _ in 0..<3 { ids.append(try await e.start("w", caller: alice, dispatch: false).id) }
        #expect(Set(try await store.leaseRuns(worker: "w", leaseSeconds: 0.2, limit: 3, skipping: [])) == Set(ids))
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await store.claim(ids[0], worker: "other", leaseSeconds: 30))
        #expect(try await store.renew(ids + ["no-such-run"], worker: "w", leaseSeconds: 30) == Set(ids.dropFirst()))
        #expect(try await store.renew([], worker: "w", leaseSeconds: 30).isEmpty)
        #expect(try await store.claim(ids[1], worker: "other", leaseSeconds: 30) == false)
    }

    /// The lease is held within its bounds, whatever the caller passes.
    @Test(arguments: [(0.0, 0.2), (-1e300, 0.2), (1e300, 3600), (Double.infinity, 3600), (Double.nan, 10), (5, 5)] as [(Double, Double)])
    func theLeaseIsBounded(given: Double, held: Double) throws {
        let e = WorkflowEngine(store: try temporaryStore(), actions: RecordingActions(), leaseSeconds: given)
        #expect(e.lease == held)
    }
}
