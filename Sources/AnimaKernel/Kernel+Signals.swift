import AnimaCore
import AnimaMemory
import AnimaProcessor
import AnimaSecurity
import Foundation

/// Signals and exit: kill, suspend and resume, and what happens when a program ends.
extension Kernel {
    /// Sends a signal as `sender` (the operator or another process's owner).
    public func signal(_ pid: PID, _ signal: Signal, from sender: Principal = .root) async throws(SyscallError) {
        guard let target = table[pid] else { throw .noSuchProcess(pid) }
        let creds = ProcessCredentials(pid: .kernel, owner: sender, groups: sender.groups, ancestors: [])
        if let reason = authorizer.deny(.signal(pid, signal), by: creds, target: credentials(target)) {
            recordAudit(pid: .kernel, owner: sender.name, .signal(pid, signal), .denied(reason))
            throw .permissionDenied(syscall: "signal", reason: reason)
        }
        try await deliver(signal, to: target)
        recordAudit(pid: .kernel, owner: sender.name, .signal(pid, signal), .completed)
    }

    func deliver(_ signal: Signal, to process: ProcessRecord) async throws(SyscallError) {
        guard process.isAlive else { throw .processExited(process.pid) }
        switch signal {
        case .terminate:
            let generation = process.generation
            terminate(process.pid, status: .killed)
            // Kill returns once the slot and KV state are free.
            await generation?.cancel()
        case .suspend:
            guard !process.suspended else { return }
            process.suspended = true
            if let generation = process.generation { _ = try? await generation.suspend() }
            emit(.stateChanged(process.pid, .suspended))
        case .resume:
            guard process.suspended else { return }
            process.suspended = false
            if let generation = process.generation {
                // The slot comes back when the policy grants one; the syscall keeps waiting meanwhile.
                Task { _ = try? await generation.resume() }
            }
            process.releaseSuspendedWaiters()
            emit(.stateChanged(process.pid, process.state))
        }
    }

    /// Ends a process now: its program is cancelled and its slot released.
    func terminate(_ pid: PID, status: ExitStatus) {
        guard let process = table[pid], process.isAlive else { return }
        process.exitStatus = status
        process.task?.cancel()
        process.watchdog?.cancel()
        process.mailbox.wake()
        process.releaseSuspendedWaiters()
        let generation = process.generation
        process.generation = nil
        if let generation { Task { await generation.cancel() } }
        finishExit(process)
    }

    /// Called when a program returns.
    func exit(_ pid: PID, _ status: ExitStatus) {
        guard let process = table[pid], process.isAlive else { return }
        process.exitStatus = status
        process.watchdog?.cancel()
        process.mailbox.wake()
        finishExit(process)
    }

    func finishExit(_ process: ProcessRecord) {
        // Messages it never received: their readers are no longer needed.
        for message in process.mailbox.drain() { messageReaders.removeValue(forKey: message.sequence) }
        let status = process.exitStatus!
        // Its questions to people go with it: no one should approve a call of an agent that is gone.
        let pid = process.pid
        Task { [approvals] in await approvals.withdraw(pid, because: "\(Approvals.endedPrefix) (\(status)) before anyone answered") }
        for waiter in process.exitWaiters { waiter.resume(returning: status) }
        process.exitWaiters.removeAll()
        emit(.exited(process.pid, status))
        table.retire(process.pid)
    }

    /// Removes an exited process from the table.
    func reap(_ pid: PID) {
        table.reap(pid)
    }
}
