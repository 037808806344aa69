import AnimaCore
import Foundation

/// Where workflows, runs, step records and history are kept durably.
///
/// Every write is one transaction that commits before the call returns; a step's record and
/// its history line are written together. Runs are claimed with a lease, so two daemons
/// never execute one run at once and a killed daemon's runs are taken over when its lease ends.
public protocol WorkflowStore: Sendable {
    func save(_ workflow: Workflow, owner: Principal, webhookSecret: String?) async throws(WorkflowError)
    func workflow(named name: String) async throws(WorkflowError) -> StoredWorkflow?
    func workflows() async throws(WorkflowError) -> [StoredWorkflow]
    func removeWorkflow(named name: String) async throws(WorkflowError) -> Bool

    /// Creates a pending run; an existing run with the same id is returned unchanged (a
    /// sub-workflow's child run, replayed after a crash).
    func createRun(
        id: String, of stored: StoredWorkflow, owner: Principal, inputs: LabeledValue, trigger: String, parent: String?
    ) async throws(WorkflowError) -> WorkflowRun
    func run(_ id: String) async throws(WorkflowError) -> WorkflowRun?
    /// The definition a run started with.
    func definition(ofRun id: String) async throws(WorkflowError) -> Workflow?
    func runs(workflow: String?, limit: Int) async throws(WorkflowError) -> [WorkflowRun]
    /// Unfinished runs whose lease is free or expired (or held by `worker`), oldest first;
    /// with `serving`, only runs whose needs (`Workflow.needs`) it holds all of.
    func claimableRuns(worker: String, limit: Int, serving: Set<String>?) async throws(WorkflowError) -> [String]
    /// Leases up to `limit` unfinished runs whose lease is free or expired (or `worker`'s),
    /// leaving out `busy` (those the worker runs now) and, with `serving`, runs needing
    /// anything else; returns the ids leased.
    func leaseRuns(worker: String, leaseSeconds: Double, limit: Int, skipping busy: Set<String>, serving: Set<String>?)
        async throws(WorkflowError) -> [String]
    /// Takes or renews the lease of an unfinished run; false if another worker holds it or,
    /// with `serving`, if the run needs something it does not serve.
    func claim(_ id: String, worker: String, leaseSeconds: Double, serving: Set<String>?) async throws(WorkflowError) -> Bool
    func release(_ id: String, worker: String) async throws(WorkflowError)
    /// Renews, in one write, the leases of the runs `worker` executes (the heartbeat of a
    /// whole engine, not one per run); returns those it still holds. A run another worker
    /// took, or that has ended, is left out.
    func renew(_ ids: [String], worker: String, leaseSeconds: Double) async throws(WorkflowError) -> Set<String>
    /// Takes or renews the lease named `key`: a trigger that one daemon of those sharing the
    /// store fires (an MCP resource subscription). False while another worker holds it.
    func claimTrigger(_ key: String, worker: String, leaseSeconds: Double) async throws(WorkflowError) -> Bool
    /// Ends a run and, in the same transaction, creates the runs its completion triggers
    /// start (a transactional outbox: a crash cannot keep the end and lose the follow-up).
    func finish(_ id: String, status: RunStatus, output: LabeledValue?, error: String?, followers: [PendingRun]) async throws(WorkflowError)
    func setStatus(_ id: String, _ status: RunStatus, detail: String) async throws(WorkflowError)
    func requestCancel(_ id: String) async throws(WorkflowError) -> Bool
    /// Whether someone asked to cancel run `id` (checked before each condition and loop; a
    /// leaf step reads it with its own record, `stepBeforeRunning`).
    func cancelRequested(_ id: String) async throws(WorkflowError) -> Bool

    func step(run: String, path: String) async throws(WorkflowError) -> StepRecord?
    /// A step's record and whether its run was asked to stop, in one read: what the engine
    /// asks before each step.
    func stepBeforeRunning(run: String, path: String) async throws(WorkflowError) -> (step: StepRecord?, cancelRequested: Bool)
    func steps(run: String) async throws(WorkflowError) -> [StepRecord]
    /// Records an attempt's start (keeping the first start time and the key) before it acts.
    func stepStarted(run: String, path: String, key: String, attempt: Int) async throws(WorkflowError)
    func stepCompleted(run: String, path: String, output: LabeledValue) async throws(WorkflowError)
    func stepFailed(run: String, path: String, error: String, final: Bool) async throws(WorkflowError)
    func history(run: String) async throws(WorkflowError) -> [HistoryEvent]
    func note(run: String, path: String?, event: String, detail: String) async throws(WorkflowError)
    /// Pending runs and unfinished steps, for the queue-depth metric.
    func queueDepth() async throws(WorkflowError) -> Int
}

/// A run to create together with another run's end: a completion trigger's follower.
public struct PendingRun: Sendable {
    public var id: String
    public var workflow: StoredWorkflow
    /// The owner with the groups granted to the run.
    public var owner: Principal
    public var inputs: LabeledValue
    public var trigger: String

    public init(id: String, workflow: StoredWorkflow, owner: Principal, inputs: LabeledValue, trigger: String) {
        self.id = id
        self.workflow = workflow
        self.owner = owner
        self.inputs = inputs
        self.trigger = trigger
    }
}

extension WorkflowStore {
    public func cancelRequested(_ id: String) async throws(WorkflowError) -> Bool {
        try await run(id)?.cancelRequested == true
    }

    public func stepBeforeRunning(run: String, path: String) async throws(WorkflowError) -> (step: StepRecord?, cancelRequested: Bool) {
        (try await step(run: run, path: path), try await cancelRequested(run))
    }

    /// Ends a run that starts no other.
    public func finish(_ id: String, status: RunStatus, output: LabeledValue?, error: String?) async throws(WorkflowError) {
        try await finish(id, status: status, output: output, error: error, followers: [])
    }

    /// Finds claimable runs, then claims them one at a time (a store that cannot skip
    /// locked rows; SQLite serialises writers anyway).
    public func leaseRuns(
        worker: String, leaseSeconds: Double, limit: Int, skipping busy: Set<String>, serving: Set<String>?
    ) async throws(WorkflowError) -> [String] {
        guard limit > 0 else { return [] }
        var leased: [String] = []
        for id in try await claimableRuns(worker: worker, limit: limit + busy.count, serving: serving)
        where !busy.contains(id) && leased.count < limit {
            if try await claim(id, worker: worker, leaseSeconds: leaseSeconds, serving: serving) { leased.append(id) }
        }
        return leased
    }

    /// For an engine that serves every run.
    public func claim(_ id: String, worker: String, leaseSeconds: Double) async throws(WorkflowError) -> Bool {
        try await claim(id, worker: worker, leaseSeconds: leaseSeconds, serving: nil)
    }

    public func leaseRuns(worker: String, leaseSeconds: Double, limit: Int, skipping busy: Set<String>) async throws(WorkflowError)
        -> [String]
    {
        try await leaseRuns(worker: worker, leaseSeconds: leaseSeconds, limit: limit, skipping: busy, serving: nil)
    }
}
