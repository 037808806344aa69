import AnimaCore
import AnimaMemory
import AnimaProcessor
import AnimaSecurity
import Foundation
import Synchronization

/// The kernel's entry for one process. Lives inside the `Kernel` actor and is only
/// touched there.
final class ProcessRecord {
    enum Activity: Equatable {
        /// Running its own code between syscalls.
        case idle
        case generating
        case blocked(String)
    }

    let pid: PID
    let parent: PID?
    let name: String
    let owner: Principal
    let groups: Set<String>
    let priority: Int
    let quotas: Quotas
    let started = Date()

    var usage = ResourceUsage()
    /// Text pieces of the generation in progress, a live estimate of its tokens until
    /// the exact count arrives with its usage. Counted where the generation is read, which
    /// may be off the kernel's actor (see `Kernel.generate`).
    let liveTokens = LiveCount()
    var activity = Activity.idle
    var suspended = false
    var exitStatus: ExitStatus?
    var mailbox = Mailbox()
    var task: Task<Void, Never>?
    var watchdog: Task<Void, Never>?
    /// The generation in progress, if the process is generating.
    var generation: (any GenerationControl)?
    /// The agent's persistent memory, once it attached it.
    var pager: Pager?
    var exitWaiters: [CheckedContinuation<ExitStatus, Never>] = []
    /// Every text that entered the process's context with its label, for the security
    /// monitor's provenance checks.
    var provenance = ProvenanceLedger()
    /// The privacy of everything that entered the process's context so far: its spec's
    /// label joined with that of each private source it took in. Every generation carries it.
    var privacy = PrivacyLabel.public
    /// The model every generation of this process is pinned to (`AgentSpec.model`).
    var pinnedProcessor: String?
    /// Syscalls made while the process is suspended wait here until it is resumed.
    var suspendedWaiters: [CheckedContinuation<Void, Never>] = []

    init(pid: PID, parent: PID?, name: String, owner: Principal, groups: Set<String>, priority: Int, quotas: Quotas) {
        self.pid = pid
        self.parent = parent
        self.name = name
        self.owner = owner
        self.groups = groups
        self.priority = priority
        self.quotas = quotas
    }

    var isAlive: Bool { exitStatus == nil }

    var state: ProcessState {
        if let exitStatus { return .exited(exitStatus) }
        if suspended { return .suspended }
        switch activity {
        case .idle: return .ready
        case .generating: return generation?.slot == nil ? .ready : .running
        case .blocked(let on): return .blocked(on)
        }
    }

    func releaseSuspendedWaiters() {
        for waiter in suspendedWaiters { waiter.resume() }
        suspendedWaiters.removeAll()
    }

}

/// A count that the kernel reads while another task adds to it.
final class LiveCount: Sendable {
    private let value = Atomic(0)

    func add() { value.add(1, ordering: .relaxed) }
    func reset() { value.store(0, ordering: .relaxed) }
    var now: Int { value.load(ordering: .relaxed) }
}
