import AnimaCore
import Foundation

/// Starts runs on cron schedules and file changes (webhooks arrive through the daemon's route,
/// completions through the engine).
///
/// A cron firing gets the run id `NAME-cron-EPOCH`, so two daemons sharing a store, or a daemon
/// restarted within the minute, start it once. Firings missed while no daemon ran are not
/// made up.
public actor TriggerService {
    let engine: WorkflowEngine
    var lastCheck: Date
    var watchers: [String: (watcher: DirectoryWatcher, task: Task<Void, Never>)] = [:]
    let resources: (any ResourceWatching)?
    /// One subscription per (server, uri) that some workflow's `mcp_resource` trigger names.
    var subscriptions: [ResourceKey: Task<Void, Never>] = [:]
    /// How long this service holds a resource's subscription for the daemons sharing the
    /// store without renewing it (`refreshResourceWatchers` renews it).
    let resourceLease: Double

    struct ResourceKey: Hashable {
        var server: String
        var uri: String
    }

    /// - Parameters:
    ///   - resources: the MCP servers' resource updates, for `mcp_resource` triggers; nil ignores them.
    ///   - resourceLease: seconds a daemon holds a resource's subscription for all daemons
    ///     sharing the store; `run` renews it every 5 s, so it must be longer than that.
    public init(engine: WorkflowEngine, resources: (any ResourceWatching)? = nil, now: Date = Date(), resourceLease: Double = 15) {
        self.engine = engine
        self.resources = resources
        lastCheck = now
        self.resourceLease = resourceLease.isFinite ? min(max(resourceLease, 0.2), 3600) : 15
    }

    /// Subscribes to the MCP resources that workflows' triggers name (and drops those no
    /// longer named); each update starts a run of every workflow watching that resource,
    /// with inputs `server` and `uri`, labelled as the server's (untrusted) data.
    ///
    /// Of the daemons sharing a store, one at a time subscribes to a resource: the one
    /// holding its trigger lease (renewed here), so one update starts one run, not one per
    /// daemon. When that daemon dies another takes the lease once it runs out; updates in
    /// between are not made up (MCP does not replay them).
    public func refreshResourceWatchers() async {
        guard let resources, let all = try? await engine.store.workflows() else { return }
        var named: Set<ResourceKey> = []
        for stored in all {
            for case .resource(let server, let uri) in stored.workflow.triggers { named.insert(ResourceKey(server: server, uri: uri)) }
        }
        var wanted: Set<ResourceKey> = []
        for key in named {
            let lease = "mcp_resource \(key.server) \(key.uri)"
            // A store that does not answer: keep what is held until it does (its lease may still hold).
            guard let held = try? await engine.store.claimTrigger(lease, worker: engine.worker, leaseSeconds: resourceLease) else {
                if subscriptions[key] != nil { wanted.insert(key) }
                continue
            }
            if held { wanted.insert(key) }
        }
        for (key, task) in subscriptions where !wanted.contains(key) {
            task.cancel()
            subscriptions[key] = nil
        }
        let engine = self.engine
        for key in wanted where subscriptions[key] == nil {
            subscriptions[key] = Task {
                // A server that is down or cannot subscribe is tried again at the next refresh.
                guard let updates = try? await resources.updates(server: key.server, uri: key.uri) else {
                    self.forget(key)
                    return
                }
                for await updated in updates where updated == key.uri {
                    guard let all = try? await engine.store.workflows() else { continue }
                    for stored in all where stored.workflow.triggers.contains(.resource(server: key.server, uri: key.uri)) {
                        _ = try? await engine.start(
                            stored.workflow.name, inputs: ["server": .string(key.server), "uri": .string(updated)],
                            label: ProvenanceLabel(.tool(key.server)), caller: stored.owner, trigger: "mcp_resource")
                    }
                }
                self.forget(key)
            }
        }
    }

    func forget(_ key: ResourceKey) { subscriptions[key] = nil }

    /// Starts every cron run due in (`from`, `to`]; returns them. Tests drive this with virtual dates.
    @discardableResult
    public func fireDue(from: Date, to: Date) async -> [WorkflowRun] {
        guard let all = try? await engine.store.workflows() else { return [] }
        var started: [WorkflowRun] = []
        for stored in all {
            for case .cron(let schedule, let zone) in stored.workflow.triggers {
                guard let timeZone = TimeZone(identifier: zone) else { continue }
                var after = from
                // At most a few firings per check: a long sleep does not start a burst.
                for _ in 0..<5 {
                    guard let next = schedule.next(after: after, in: timeZone), next <= to else { break }
                    let inputs: JSONValue = ["scheduled": .string(WorkflowRun.iso(next))]
                    if let run = try? await engine.start(
                        stored.workflow.name, inputs: inputs, label: ProvenanceLabel(.system), caller: stored.owner, trigger: "cron",
                        id: "\(stored.workflow.name)-cron-\(Int(next.timeIntervalSince1970))")
                    {
                        started.append(run)
                    }
                    after = next
                }
            }
        }
        return started
    }

    /// Watches the directories that workflows name and starts a run per file written there.
    public func refreshWatchers() async {
        guard let all = try? await engine.store.workflows() else { return }
        var wanted: [String: [StoredWorkflow]] = [:]
        for stored in all {
            for case .files(let directory) in stored.workflow.triggers {
                wanted[(directory as NSString).expandingTildeInPath, default: []].append(stored)
            }
        }
        for (directory, entry) in watchers where wanted[directory] == nil {
            entry.task.cancel()
            entry.watcher.close()
            watchers[directory] = nil
        }
        for directory in wanted.keys where watchers[directory] == nil {
            guard let watcher = try? DirectoryWatcher(directory: directory) else { continue }
            let engine = self.engine
            let task = Task {
                for await path in watcher.events() {
                    guard let all = try? await engine.store.workflows() else { continue }
                    for stored in all
                    where stored.workflow.triggers.contains(.files(directory: directory))
                        || stored.workflow.triggers.contains(where: {
                            if case .files(let d) = $0 { return (d as NSString).expandingTildeInPath == directory }
                            return false
                        })
                    {
                        _ = try? await engine.start(
                            stored.workflow.name, inputs: ["path": .string(path)], label: ProvenanceLabel(.file), caller: stored.owner,
                            trigger: "files")
                    }
                }
            }
            watchers[directory] = (watcher, task)
        }
    }

    /// Checks schedules every second and the watched directories every few seconds until cancelled.
    public func run() async {
        var tick = 0
        while !Task.isCancelled {
            if tick % 5 == 0 {
                await refreshWatchers()
                await refreshResourceWatchers()
            }
            let now = Date()
            await fireDue(from: lastCheck, to: now)
            lastCheck = now
            tick += 1
            try? await Task.sleep(for: .seconds(1))
        }
        for entry in watchers.values {
            entry.task.cancel()
            entry.watcher.close()
        }
        watchers = [:]
        for task in subscriptions.values { task.cancel() }
        subscriptions = [:]
    }
}
