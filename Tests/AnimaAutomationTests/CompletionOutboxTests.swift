import AnimaAutomation
import AnimaCore
import Foundation
import Testing

/// A crash between a run's end and its completion trigger cannot lose the follow-up: the
/// follower is created in the transaction that ends the run.
@Suite("Completion triggers survive a crash")
struct CompletionOutboxTests {
    @Test(.timeLimit(.minutes(1))) func theFollowerExistsOnceTheRunHasEnded() async throws {
        let base = try temporaryStore()
        let crashing = FreezingAfterFinish(base: base)
        let actions = RecordingActions()
        let doomed = WorkflowEngine(store: crashing, actions: actions, worker: "doomed", leaseSeconds: 0.5, pollInterval: .milliseconds(10))
        _ = try await doomed.add(#"{"name": "first", "steps": [{"id": "w", "type": "wait", "seconds": 0}], "output": 41}"#, owner: alice)
        _ = try await doomed.add(
            #"""
            {"name": "second", "triggers": [{"type": "completion", "workflow": "first"}],
             "steps": [{"id": "w", "type": "wait", "seconds": 0}], "output": "${inputs.output}"}
            """#, owner: alice)
        let first = try await doomed.start("first", caller: alice)
        // The engine "dies" right after the run's end is committed: it never gets to start the follower.
        let dead = Task { _ = try await doomed.wait(first.id) }
        while try await base.run(first.id)?.status != .completed { try await Task.sleep(for: .milliseconds(10)) }
        let follower = try #require(try await base.run("\(first.id)-then-second"), "the follower was lost with the crash")
        #expect(follower.status == .pending && follower.trigger == "completion:\(first.id)")
        // Another engine (or the restarted daemon) runs it.
        let survivor = WorkflowEngine(store: base, actions: actions, worker: "survivor", pollInterval: .milliseconds(10))
        await survivor.resumeAll()
        let done = try await survivor.wait(follower.id)
        #expect(done.status == .completed && done.output?.value == 41)
        dead.cancel()
    }

    @Test func aFollowerTheSchemaRefusesIsNotedNotStarted() async throws {
        let store = try temporaryStore()
        let engine = WorkflowEngine(store: store, actions: RecordingActions(), pollInterval: .milliseconds(10))
        _ = try await engine.add(#"{"name": "first", "steps": [{"id": "w", "type": "wait", "seconds": 0}]}"#, owner: alice)
        _ = try await engine.add(
            #"""
            {"name": "strict", "triggers": [{"type": "completion", "workflow": "first"}],
             "inputs": {"type": "object", "required": ["nothing-gives-this"]}, "steps": [{"id": "w", "type": "wait", "seconds": 0}]}
            """#, owner: alice)
        let run = try await engine.wait(try await engine.start("first", caller: alice).id)
        #expect(run.status == .completed)
        #expect(try await store.run("\(run.id)-then-strict") == nil)
        let refused = try await store.history(run: run.id).filter { $0.event == "follower-refused" }
        #expect(refused.count == 1 && refused[0].detail.contains("strict"), "\(refused)")
    }
}

/// A store that stops answering once a run has ended (the commit done): the engine above it
/// behaves as a daemon killed at that instant.
struct FreezingAfterFinish: WorkflowStore {
    let base: SQLiteWorkflowStore

    func finish(_ id: String, status: RunStatus, output: LabeledValue?, error: String?, followers: [PendingRun]) async throws(WorkflowError)
    {
        try await base.finish(id, status: status, output: output, error: error, followers: followers)
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
    }

    func save(_ workflow: Workflow, owner: Principal, webhookSecret: String?) async throws(WorkflowError) {
        try await base.save(workflow, owner: owner, webhookSecret: webhookSecret)
    }
    func workflow(named name: String) async throws(WorkflowError) -> StoredWorkflow? { try await base.workflow(named: name) }
    func workflows() async throws(WorkflowError) -> [StoredWorkflow] { try await base.workflows() }
    func removeWorkflow(named name: String) async throws(WorkflowError) -> Bool { try await base.removeWorkflow(named: name) }
    func createRun(
        id: String, of stored: StoredWorkflow, owner: Principal, inputs: LabeledValue, trigger: String, parent: String?
    ) async throws(WorkflowError) -> WorkflowRun {
        try await base.createRun(id: id, of: stored, owner: owner, inputs: inputs, trigger: trigger, parent: parent)
    }
    func run(_ id: String) async throws(WorkflowError) -> WorkflowRun? { try await base.run(id) }
    func definition(ofRun id: String) async throws(WorkflowError) -> Workflow? { try await base.definition(ofRun: id) }
    func runs(workflow: String?, limit: Int) async throws(WorkflowError) -> [WorkflowRun] {
        try await base.runs(workflow: workflow, limit: limit)
    }
    func claimableRuns(worker: String, limit: Int, serving: Set<String>?) async throws(WorkflowError) -> [String] {
        try await base.claimableRuns(worker: worker, limit: limit, serving: serving)
    }
    func leaseRuns(
        worker: String, leaseSeconds: Double, limit: Int, skipping busy: Set<String>, serving: Set<String>?
    ) async throws(WorkflowError) -> [String] {
        try await base.leaseRuns(worker: worker, leaseSeconds: leaseSeconds, limit: limit, skipping: busy, serving: serving)
    }
    func claim(_ id: String, worker: String, leaseSeconds: Double, serving: Set<String>?) async throws(WorkflowError) -> Bool {
        try await base.claim(id, worker: worker, leaseSeconds: leaseSeconds, serving: serving)
    }
    func release(_ id: String, worker: String) async throws(WorkflowError) { try await base.release(id, worker: worker) }
    func renew(_ ids: [String], worker: String, leaseSeconds: Double) async throws(WorkflowError) -> Set<String> {
        try await base.renew(ids, worker: worker, leaseSeconds: leaseSeconds)
    }
    func claimTrigger(_ key: String, worker: String, leaseSeconds: Double) async throws(WorkflowError) -> Bool {
        try await base.claimTrigger(key, worker: worker, leaseSeconds: leaseSeconds)
    }
    func setStatus(_ id: String, _ status: RunStatus, detail: String) async throws(WorkflowError) {
        try await base.setStatus(id, status, detail: detail)
    }
    func requestCancel(_ id: String) async throws(WorkflowError) -> Bool { try await base.requestCancel(id) }
    func step(run: String, path: String) async throws(WorkflowError) -> StepRecord? { try await base.step(run: run, path: path) }
    func steps(run: String) async throws(WorkflowError) -> [StepRecord] { try await base.steps(run: run) }
    func stepStarted(run: String, path: String, key: String, attempt: Int) async throws(WorkflowError) {
        try await base.stepStarted(run: run, path: path, key: key, attempt: attempt)
    }
    func stepCompleted(run: String, path: String, output: LabeledValue) async throws(WorkflowError) {
        try await base.stepCompleted(run: run, path: path, output: output)
    }
    func stepFailed(run: String, path: String, error: String, final: Bool) async throws(WorkflowError) {
        try await base.stepFailed(run: run, path: path, error: error, final: final)
    }
    func history(run: String) async throws(WorkflowError) -> [HistoryEvent] { try await base.history(run: run) }
    func note(run: String, path: String?, event: String, detail: String) async throws(WorkflowError) {
        try await base.note(run: run, path: path, event: event, detail: detail)
    }
    func queueDepth() async throws(WorkflowError) -> Int { try await base.queueDepth() }
}
