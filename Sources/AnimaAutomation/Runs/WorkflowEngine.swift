import AnimaCore
import Foundation
import Metrics

/// Runs workflows durably: each step's start (with its idempotency key) is committed before
/// the step acts, and its result before the next step starts.
///
/// A run is replayed from the top when it resumes: completed steps give back their recorded
/// outputs without acting again, so conditions and loops take the same branches; a step that
/// had started but not finished runs again with the same key (its side effect's receiver
/// acts once per key). Runs are claimed with a lease that a heartbeat renews, so a daemon that
/// dies loses its runs to the next daemon that starts or polls once the lease expires.
///
/// A run acts as the workflow's owner with the groups the file asks for that the owner holds.
public actor WorkflowEngine {
    public nonisolated let store: any WorkflowStore
    let actions: any StepActions
    /// This engine's name in leases.
    public nonisolated let worker: String
    let leaseSeconds: Double
    /// How often waits, approvals and sub-workflow steps look at the store again.
    let pollInterval: Duration
    /// Most runs this engine executes at once (its capacity); the rest wait in the queue
    /// for it or for another engine sharing the store.
    let maxConcurrentRuns: Int
    /// What this engine can run (`Workflow.needs`: its processors' models and its tools);
    /// it leases only runs that need nothing else. nil: every run (one engine per store).
    public nonisolated let serving: Set<String>?
    var tasks: [String: Task<Void, Never>] = [:]
    /// Slots promised to leases still in flight. `resumeAll` and `dispatch` wait on the
    /// store between counting free slots and starting runs, and the actor takes other
    /// calls meanwhile: without this, runs ending together each leased the same free
    /// slots, and a worker with 16 slots ran far more than 16 runs at once.
    var reserved = 0
    /// The step-running body of each run this engine executes, for the heartbeat to stop
    /// when another engine has taken its run.
    var bodies: [String: Task<LabeledValue, any Error>] = [:]
    /// One heartbeat for all the engine's runs (one write per beat, not one per run).
    var heartbeat: Task<Void, Never>?
    var finishedObservers: [UUID: AsyncStream<WorkflowRun>.Continuation] = [:]
    var lastGauge: ContinuousClock.Instant?

    // anima_workflow_runs_total is labelled by status where a run ends: one metric name must
    // be labelled everywhere or nowhere (swift-prometheus stops the process otherwise).
    let stepsCounter = Counter(label: "anima_workflow_steps_total")
    let retriesCounter = Counter(label: "anima_workflow_retries_total")
    let stepTimer = Metrics.Timer(label: "anima_workflow_step_seconds")
    let queueGauge = Gauge(label: "anima_workflow_queue_depth")

    /// - Parameters:
    ///   - worker: this engine's name in leases; random by default.
    ///   - leaseSeconds: how long a run stays this engine's without a heartbeat (renewed every third of it);
    ///     held within `leaseRange` (NaN: the default, 10).
    ///   - maxConcurrentRuns: runs executed at once; 64 by default.
    ///   - serving: what this engine can run (see `serving`); nil: everything.
    public init(
        store: any WorkflowStore, actions: any StepActions, worker: String = "worker-" + Hex.randomID().prefix(12),
        leaseSeconds: Double = 10, pollInterval: Duration = .milliseconds(100), maxConcurrentRuns: Int = 64,
        serving: Set<String>? = nil
    ) {
        self.serving = serving
        self.maxConcurrentRuns = max(1, maxConcurrentRuns)
        self.store = store
        self.actions = actions
        self.worker = worker
        self.leaseSeconds = Self.boundedLease(leaseSeconds)
        self.pollInterval = pollInterval
    }

    // MARK: workflows

    /// Adds or replaces a workflow owned by `owner`; returns it and, if it has a webhook
    /// trigger, its signing secret (kept across replacements).
    public func add(_ text: String, owner: Principal) async throws(WorkflowError) -> (workflow: Workflow, webhookSecret: String?) {
        let workflow = try Workflow(parsing: text)
        if let existing = try await store.workflow(named: workflow.name), existing.owner.name != owner.name, !owner.isRoot {
            throw .denied(step: "(add)", reason: "workflow \(workflow.name) belongs to \(existing.owner.name)")
        }
        let hasWebhook = workflow.triggers.contains(.webhook)
        var secret: String? = nil
        if hasWebhook {
            var generator = SystemRandomNumberGenerator()
            secret = Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
        try await store.save(workflow, owner: owner, webhookSecret: secret)
        let stored = try await store.workflow(named: workflow.name)
        return (workflow, hasWebhook ? stored?.webhookSecret : nil)
    }

    public func remove(_ name: String, caller: Principal) async throws(WorkflowError) {
        guard let stored = try await store.workflow(named: name) else { throw .unknownWorkflow(name) }
        guard caller.isRoot || caller.name == stored.owner.name else {
            throw .denied(step: "(remove)", reason: "workflow \(name) belongs to \(stored.owner.name)")
        }
        _ = try await store.removeWorkflow(named: name)
    }

    // MARK: runs

    /// Starts a run of `name` for `caller` (its owner or root) and returns it, queued.
    /// - Parameters:
    ///   - label: where the inputs came from (`user` for a manual run, `web` for a webhook).
    ///   - id: a fixed id makes the start idempotent (a sub-workflow replayed, a cron minute).
    ///   - dispatch: false only queues it, for a daemon to take.
    public func start(
        _ name: String, inputs: JSONValue = .object([:]), label: ProvenanceLabel = .user, caller: Principal, trigger: String = "manual",
        parent: String? = nil, id: String? = nil, dispatch: Bool = true
    ) async throws(WorkflowError) -> WorkflowRun {
        guard let stored = try await store.workflow(named: name) else { throw .unknownWorkflow(name) }
        let new = try Self.pending(
            stored, inputs: inputs, label: label, caller: caller, trigger: trigger, id: id ?? Hex.randomID().prefix(16).description)
        let run = try await store.createRun(
            id: new.id, of: stored, owner: new.owner, inputs: new.inputs, trigger: trigger, parent: parent)
        let unmet = stored.workflow.unmetNeeds(servedBy: serving)
        if !unmet.isEmpty, run.status == .pending {
            // Left in the queue for an engine that serves it; its history says why it waits.
            try? await store.note(
                run: run.id, path: nil, event: "queued",
                detail: "\(worker) does not serve \(unmet.sorted().joined(separator: ", ")); it waits for a daemon that does")
        } else if dispatch {
            await self.dispatch(run.id)
        }
        return run
    }

    /// The run `start` creates, checked: the caller may run the workflow, the inputs match
    /// its schema; the run gets the groups the file asks for that the owner holds.
    static func pending(
        _ stored: StoredWorkflow, inputs: JSONValue, label: ProvenanceLabel, caller: Principal, trigger: String, id: String
    ) throws(WorkflowError) -> PendingRun {
        let name = stored.workflow.name
        guard caller.isRoot || caller.name == stored.owner.name else {
            throw .denied(step: "(start)", reason: "workflow \(name) belongs to \(stored.owner.name); only they or root may run it")
        }
        guard inputs.objectValue != nil else { throw .badInputs("inputs must be a JSON object, not \(inputs.typeName)") }
        if let schema = stored.workflow.inputs {
            let violations = schema.violations(of: inputs)
            guard violations.isEmpty else { throw .badInputs(violations.map(\.description).joined(separator: "; ")) }
        }
        let granted = Principal(name: stored.owner.name, groups: stored.workflow.groups.intersection(stored.owner.groups))
        return PendingRun(id: id, workflow: stored, owner: granted, inputs: LabeledValue(inputs, label: label), trigger: trigger)
    }

    /// Takes every unfinished run whose lease is free or expired and runs it.
    public func resumeAll() async {
        let free = maxConcurrentRuns - tasks.count - reserved
        if free > 0 {
            reserved += free
            let ids = try? await store.leaseRuns(
                worker: worker, leaseSeconds: leaseSeconds, limit: free, skipping: Set(tasks.keys), serving: serving)
            reserved -= free
            for id in ids ?? [] where tasks[id] == nil { tasks[id] = Task { await self.execute(id) } }
        }
        // The gauge counts the whole queue: once a second is enough, and polling stays cheap.
        if lastGauge.map({ $0.duration(to: .now) > .seconds(1) }) ?? true, let depth = try? await store.queueDepth() {
            queueGauge.record(depth)
            lastGauge = .now
        }
    }

    /// Resumes unfinished runs now and then polls for queued and abandoned ones until cancelled.
    public func serve(poll: Duration = .milliseconds(200)) async {
        while !Task.isCancelled {
            await resumeAll()
            try? await Task.sleep(for: poll)
        }
        for task in tasks.values { task.cancel() }
        heartbeat?.cancel()
    }

    func dispatch(_ id: String) async {
        guard tasks[id] == nil, tasks.count + reserved < maxConcurrentRuns else { return }
        reserved += 1
        let claimed = (try? await store.claim(id, worker: worker, leaseSeconds: leaseSeconds, serving: serving)) == true
        reserved -= 1
        guard claimed, tasks[id] == nil else { return }
        tasks[id] = Task { await self.execute(id) }
    }

    /// Waits until a run finishes (or, with `orWaiting`, stops at an approval).
    public func wait(_ id: String, orWaiting: Bool = false) async throws(WorkflowError) -> WorkflowRun {
        while true {
            // While this engine executes the run, it is watched here, not read from the store
            // at every poll (the store's thread is the one running steps).
            if !orWaiting, tasks[id] != nil {
                do { try await Task.sleep(for: pollInterval) } catch { throw .cancelled }
                continue
            }
            guard let run = try await store.run(id) else { throw .unknownRun(id) }
            if run.status.isFinished || (orWaiting && run.status == .waiting) { return run }
            do { try await Task.sleep(for: pollInterval) } catch { throw .cancelled }
        }
    }

    /// Asks a run to stop; it ends `cancelled` at its next step boundary or wait.
    public func cancel(_ id: String, caller: Principal) async throws(WorkflowError) -> Bool {
        guard let run = try await store.run(id) else { throw .unknownRun(id) }
        guard caller.isRoot || caller.name == run.owner.name else {
            throw .denied(step: "(cancel)", reason: "run \(id) belongs to \(run.owner.name)")
        }
        let asked = try await store.requestCancel(id)
        if asked { await actions.record(RunEvent("cancel-requested", run: id, actor: caller.name)) }
        tasks[id]?.cancel()
        return asked
    }

    /// Decides an approval step that a run waits on.
    public func approve(_ id: String, step: String, approved: Bool, caller: Principal) async throws(WorkflowError) {
        guard let run = try await store.run(id) else { throw .unknownRun(id) }
        guard caller.isRoot || caller.name == run.owner.name else {
            throw .denied(step: step, reason: "run \(id) belongs to \(run.owner.name)")
        }
        guard let record = try await store.step(run: id, path: step), record.status == .started, run.status == .waiting else {
            throw .invalid(step: step, field: "approval", reason: "run \(id) is not waiting for an approval at this step")
        }
        try await store.stepCompleted(
            run: id, path: step,
            output: LabeledValue(.object(["approved": .bool(approved), "by": .string(caller.name)]), label: .user))
        await actions.record(RunEvent(approved ? "approved" : "rejected", run: id, step: step, actor: caller.name))
    }

    /// Finished runs as they finish (for completion triggers and tests).
    public func finishedRuns() -> AsyncStream<WorkflowRun> {
        let (stream, continuation) = AsyncStream<WorkflowRun>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let id = UUID()
        finishedObservers[id] = continuation
        continuation.onTermination = { _ in Task { await self.removeObserver(id) } }
        return stream
    }

    func removeObserver(_ id: UUID) { finishedObservers[id] = nil }

    // MARK: execution

    struct LeaseLost: Error {}

    func execute(_ id: String) async {
        defer { tasks[id] = nil }
        guard let run = try? await store.run(id), !run.status.isFinished else { return }
        let workflow: Workflow
        do {
            guard let w = try await store.definition(ofRun: id) else { return }
            workflow = w
        } catch {
            try? await store.finish(id, status: .failed, output: nil, error: "\(error)")
            return
        }
        await actions.record(RunEvent(run.status == .pending ? "run-started" : "run-resumed", run: id, actor: run.owner.name))
        // Which daemon ran it (and which took it over) stays in the run's history.
        try? await store.note(run: id, path: nil, event: "leased", detail: "by \(worker)")
        let store = self.store
        let worker = self.worker
        let body = Task {
            var scope = RunScope(runID: id, inputs: run.inputs)
            try await self.runSteps(workflow.steps, prefix: "", scope: &scope, run: run)
            var output = workflow.steps.last.flatMap { scope.steps[$0.id] } ?? LabeledValue(.null, label: .user)
            if let template = workflow.output { output = try scope.resolve(template, step: "(output)", field: "output") }
            if let schema = workflow.outputSchema {
                let violations = schema.violations(of: output.value)
                if !violations.isEmpty {
                    throw WorkflowError.invalid(
                        step: nil, field: "output",
                        reason: "the output does not match output_schema: \(violations.map(\.description).joined(separator: "; "))")
                }
            }
            return output
        }
        // The engine's heartbeat renews the lease; if another engine took the run, this one stops.
        bodies[id] = body
        startHeartbeat()
        let outcome = await withTaskCancellationHandler {
            await body.result
        } onCancel: {
            body.cancel()
        }
        bodies[id] = nil
        let status: RunStatus
        var followers: [PendingRun] = []
        switch outcome {
        case .success(let output):
            status = .completed
            followers = await self.followers(of: run, status: status, output: output)
            try? await store.finish(id, status: .completed, output: output, error: nil, followers: followers)
            await actions.record(RunEvent("run-completed", run: id, actor: run.owner.name, content: output.value.jsonText))
        case .failure(let error):
            let cancelled = (try? await store.run(id))?.cancelRequested == true
            if cancelled {
                status = .cancelled
                followers = await self.followers(of: run, status: status, output: nil)
                try? await store.finish(id, status: .cancelled, output: nil, error: "cancelled", followers: followers)
                await actions.record(RunEvent("run-cancelled", run: id, actor: run.owner.name))
            } else if error is CancellationError || error is LeaseLost {
                // Shutting down or lost the lease: another engine (or the next start) resumes it.
                try? await store.release(id, worker: worker)
                return
            } else {
                status = .failed
                let reason = (error as? WorkflowError)?.description ?? "\(error)"
                followers = await self.followers(of: run, status: status, output: nil)
                try? await store.finish(id, status: .failed, output: nil, error: reason, followers: followers)
                await actions.record(RunEvent("run-failed", run: id, actor: run.owner.name, failure: reason))
            }
        }
        Counter(label: "anima_workflow_runs_total", dimensions: [("status", status.rawValue)]).increment()
        if let finished = try? await store.run(id) {
            for continuation in finishedObservers.values { continuation.yield(finished) }
        }
        // The followers were created with the run's end; start them here if there is room
        // (any engine sharing the store takes them otherwise).
        tasks[id] = nil
        for follower in followers { await dispatch(follower.id) }
        // The slot this run held is free: take the next queued run now rather than at the next poll.
        if !Task.isCancelled { await resumeAll() }
    }

    /// Completion triggers: the runs of workflows that start when `run` ends with `status`,
    /// created in the same transaction as its end. A follower whose inputs its schema refuses
    /// is noted in the finished run's history and not started.
    func followers(of run: WorkflowRun, status: RunStatus, output: LabeledValue?) async -> [PendingRun] {
        guard let all = try? await store.workflows() else { return [] }
        var pending: [PendingRun] = []
        for stored in all {
            for trigger in stored.workflow.triggers {
                guard case .completion(let name, let wanted) = trigger, name == run.workflow, wanted == "any" || wanted == status.rawValue
                else { continue }
                var inputs: JSONObject = ["run": .string(run.id), "workflow": .string(run.workflow), "status": .string(status.rawValue)]
                inputs["output"] = output?.value ?? .null
                do {
                    pending.append(
                        try Self.pending(
                            stored, inputs: .object(inputs), label: output?.label ?? .user, caller: stored.owner,
                            trigger: "completion:\(run.id)", id: "\(run.id)-then-\(stored.workflow.name)"))
                } catch {
                    try? await store.note(
                        run: run.id, path: nil, event: "follower-refused", detail: "\(stored.workflow.name): \(error.description)")
                }
            }
        }
        return pending
    }

    func checkCancelled(_ id: String) async throws {
        if Task.isCancelled { throw CancellationError() }
        if try await store.cancelRequested(id) { throw WorkflowError.cancelled }
    }
}
