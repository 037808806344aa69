import AnimaCore
import AnimaMemory
import AnimaProcessor
import AnimaSecurity
import Foundation

/// Processes: spawning (authorised and audited from any interface), waiting, the table as callers see it.
extension Kernel {
    /// Starts an agent process owned by `owner` running the standard agent loop.
    ///
    /// A syscall from outside (the API, the command line): the authoriser is asked and
    /// the audit trail records it, as for a process's own `spawn`. `beforeRunning` runs in
    /// the new process before its first step: a client that will answer its questions
    /// registers there, so no question is put before anyone can hear it.
    public func spawn(
        _ spec: AgentSpec, owner: Principal, parent: PID? = nil, beforeRunning: (@Sendable (PID) async -> Void)? = nil
    ) throws(SyscallError) -> PID {
        try checked(.spawn(spec), owner: owner, parent: parent) { () throws(SyscallError) -> PID in
            try start(spec, owner: owner, parent: parent, beforeRunning: beforeRunning)
        }
    }

    /// Starts a process running `program`. Its groups are those asked for, at most the
    /// owner's (or the parent's, for a child). `task` is the owner's own words the program
    /// acts on, if any: the security monitor counts values found in it as the user's.
    /// `privacy` is where the process's data may go; a child also carries its parent's.
    ///
    /// Authorised and audited as a `spawn` syscall of an agent named `name` with `task`.
    public func spawn(
        name: String, owner: Principal, parent: PID? = nil, groups: Set<String>? = nil, priority: Int = 0,
        quotas: Quotas = .unlimited, task: String? = nil, privacy: PrivacyLabel = .public, program: @escaping Program
    ) throws(SyscallError) -> PID {
        let spec = AgentSpec(name: name, task: task ?? "", groups: groups, priority: priority, quotas: quotas, privacy: privacy)
        return try checked(.spawn(spec), owner: owner, parent: parent) { () throws(SyscallError) -> PID in
            try start(
                name: name, owner: owner, parent: parent, groups: groups, priority: priority, quotas: quotas, task: task,
                privacy: privacy, program: program)
        }
    }

    /// Asks the authoriser about `call`, made from outside by `owner` (for `parent`, if
    /// given), runs `body` if allowed, and records the outcome either way.
    func checked(
        _ call: Syscall, owner: Principal, parent: PID?, _ body: () throws(SyscallError) -> PID
    ) throws(SyscallError) -> PID {
        let caller = ProcessCredentials(
            pid: parent ?? .kernel, owner: owner, groups: parent.flatMap { table[$0]?.groups } ?? owner.groups, ancestors: [])
        if let failure = audit.failure {
            throw .permissionDenied(syscall: call.name, reason: "the audit trail cannot be written (\(failure)); nothing runs unrecorded")
        }
        var asked = call
        if case .spawn(var spec) = call {
            // From outside, the groups asked for are narrowed, not refused: the process gets
            // at most the owner's, and each of its syscalls is checked against the groups
            // the owner holds then. What is asked here is whether the owner may act at all.
            spec.groups = nil
            asked = .spawn(spec)
        }
        if let reason = authorizer.deny(asked, by: caller, target: nil) {
            recordAudit(pid: caller.pid, owner: owner.name, call, .denied(reason))
            throw .permissionDenied(syscall: call.name, reason: reason)
        }
        do {
            let pid = try body()
            recordAudit(pid: caller.pid, owner: owner.name, call, .completed)
            return pid
        } catch {
            recordAudit(pid: caller.pid, owner: owner.name, call, .failed(error.description))
            throw error
        }
    }

    /// Starts an agent process; the caller has authorised it.
    func start(
        _ spec: AgentSpec, owner: Principal, parent: PID?, beforeRunning: (@Sendable (PID) async -> Void)? = nil
    ) throws(SyscallError) -> PID {
        // A parent's words are the user's only as far as the parent's own context says so.
        let ledger = parent.flatMap { table[$0]?.provenance }
        let explicit: ActionSet?
        do { explicit = try spec.actions.map { try ActionSet(selectors: $0) } } catch { throw .invalidArguments("actions: \(error)") }
        if let model = spec.model {
            let served = processor.map { p in (p.routing?.candidates.map(\.id) ?? []) + [p.info.name] } ?? []
            guard served.contains(model) else {
                throw .failed(
                    "the agent asks for model \(model), which this kernel does not serve (it serves: \(served.isEmpty ? "none" : served.joined(separator: ", "))); name one of those or leave the model out"
                )
            }
        }
        let loop = AgentLoop(spec: spec)
        let dual = DualLLMLoop(spec: spec)
        let pid = try start(
            name: spec.name, owner: owner, parent: parent, groups: spec.groups, priority: spec.priority, quotas: spec.quotas,
            privacy: spec.privacy
        ) { context in
            await beforeRunning?(context.pid)
            let answer = spec.dualLLM ? try await dual.run(in: context) : try await loop.run(in: context)
            return await context.kernel.marked(answer, for: context.pid)
        }
        table[pid]?.pinnedProcessor = spec.model
        // The program cannot run before this actor method returns, so its ledger is ready first.
        table[pid]?.provenance.record(spec.task, label: ledger?.label(of: spec.task) ?? .user)
        if let prompt = spec.systemPrompt {
            table[pid]?.provenance.record(
                prompt,
                label: ledger.map { $0.label(of: prompt) }.map { $0.isTrusted ? ProvenanceLabel(.system) : $0 } ?? ProvenanceLabel(.system))
        }
        if let explicit, security.tracksProvenance { try? fixActions(explicit, for: pid) }
        return pid
    }

    /// Starts a process running `program`; the caller has authorised it. With no program,
    /// the caller runs the process's work in its own task and calls `exit` when it is done.
    func start(
        name: String, owner: Principal, parent: PID? = nil, groups: Set<String>? = nil, priority: Int = 0,
        quotas: Quotas = .unlimited, task: String? = nil, privacy: PrivacyLabel = .public, program: Program?
    ) throws(SyscallError) -> PID {
        guard table.alive < maxProcesses else {
            throw .failed("the process table is full (\(maxProcesses) processes); wait for some to exit")
        }
        let ceiling = parent.flatMap { table[$0]?.groups } ?? owner.groups
        let granted = (groups ?? ceiling).intersection(owner.isRoot ? (groups ?? ceiling) : ceiling)
        let pid = table.newPID()
        let record = ProcessRecord(
            pid: pid, parent: parent, name: name, owner: owner, groups: granted, priority: priority, quotas: quotas)
        // A child's task was written from its parent's context, so it carries that context's privacy.
        record.privacy = privacy.joined(with: parent.flatMap { table[$0]?.privacy } ?? .public)
        table.insert(record)
        if let task { record.provenance.record(task, label: .user) }
        if let program {
            let context = ProcessContext(pid: pid, kernel: self)
            record.task = Task { [weak self] in
                let status: ExitStatus
                do {
                    status = .completed(try await program(context))
                } catch {
                    status = ExitStatus(ending: error)
                }
                await self?.exit(pid, status)
            }
        }
        if let limit = quotas.wallTime {
            record.watchdog = Task { [weak self, clock] in
                guard (try? await Self.sleep(clock, for: limit)) != nil else { return }
                await self?.terminate(pid, status: .quotaExceeded("wall time (\(limit))"))
            }
        }
        if isObserved(pid) { emit(.spawned(status(of: record))) }
        return pid
    }

    static func sleep<C: Clock>(_ clock: C, for duration: Duration) async throws where C.Duration == Duration {
        try await clock.sleep(until: clock.now.advanced(by: duration), tolerance: nil)
    }

    /// Waits until `pid` exits and returns how.
    public func wait(_ pid: PID) async throws(SyscallError) -> ExitStatus {
        guard let record = table[pid] else { throw .noSuchProcess(pid) }
        if let status = record.exitStatus { return status }
        return await withCheckedContinuation { record.exitWaiters.append($0) }
    }

    /// The process table as `principal` may see it: root sees all, others their own.
    public func processes(visibleTo principal: Principal = .root) -> [ProcessStatus] {
        table.values.filter { principal.isRoot || $0.owner.name == principal.name }.map(status(of:)).sorted { $0.pid < $1.pid }
    }

    public func status(_ pid: PID) -> ProcessStatus? { table[pid].map(status(of:)) }

    func credentials(_ process: ProcessRecord) -> ProcessCredentials {
        var ancestors: [PID] = []
        var cursor = process.parent
        while let pid = cursor, ancestors.count < 64 {
            ancestors.append(pid)
            cursor = table[pid]?.parent
        }
        return ProcessCredentials(pid: process.pid, owner: process.owner, groups: process.groups, ancestors: ancestors)
    }

    func status(of process: ProcessRecord) -> ProcessStatus {
        var usage = process.usage
        usage.generatedTokens += process.liveTokens.now
        return ProcessStatus(
            pid: process.pid, parent: process.parent, name: process.name, owner: process.owner.name,
            groups: process.groups.sorted(), state: process.state, priority: process.priority, usage: usage,
            quotas: process.quotas, slot: process.generation?.slot, started: process.started)
    }
}
