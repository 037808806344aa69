import AnimaCore
import AnimaKernel
import AnimaProcessor
import ArgumentParser
import Foundation

/// How the kernel shares the processor among agents.
struct KernelOptions: ParsableArguments {
    enum PolicyName: String, ExpressibleByArgument, CaseIterable {
        case fifo, rr, priority
    }

    @Option(help: ArgumentHelp("Scheduling policy: fifo, rr (round robin) or priority (with aging).", valueName: "policy"))
    var policy: PolicyName = .rr

    @Option(help: "Round-robin time slice, in tokens.")
    var quantum = 32

    @Option(help: "Priority aging: waiting this many decode steps adds one priority level.")
    var aging = 32

    @Option(help: "Agents that generate at once (sequences in the batch).")
    var slots = 4

    func validate() throws {
        if quantum < 1 { throw ValidationError("--quantum must be at least 1 token") }
        if aging < 1 { throw ValidationError("--aging must be at least 1 step") }
        if slots < 1 || slots > 256 { throw ValidationError("--slots must be between 1 and 256") }
    }

    var slotPolicy: any SlotPolicy {
        switch policy {
        case .fifo: FIFOPolicy()
        case .rr: RoundRobinPolicy(quantum: quantum)
        case .priority: PriorityPolicy(agingSteps: aging)
        }
    }

    var description: String {
        switch policy {
        case .fifo: "fifo"
        case .rr: "round robin (\(quantum) tokens)"
        case .priority: "priority (aging \(aging) steps)"
        }
    }
}

/// The user running this command, as the kernel sees them.
enum CurrentUser {
    static var principal: Principal {
        Principal(name: NSUserName(), groups: ["users"])
    }
}
