import AnimaCore
import AnimaKernel
import AnimaLlama
import AnimaProcessor
import AnimaTools
import ArgumentParser
import Foundation

/// How the kernel shares the processor among agents.
package struct KernelOptions: ParsableArguments {
    package init() {}

    package enum PolicyName: String, ExpressibleByArgument, CaseIterable {
        case fifo, rr, priority
    }

    @Option(help: ArgumentHelp("Scheduling policy: fifo, rr (round robin) or priority (with aging).", valueName: "policy"))
    package var policy: PolicyName = .rr

    @Option(help: NumericFlag.help("Round-robin time slice, in tokens.", 1...1_000_000), transform: NumericFlag.integer(1...1_000_000))
    package var quantum = 32

    @Option(
        help: NumericFlag.help("Priority aging: waiting this many decode steps adds one priority level.", 1...1_000_000),
        transform: NumericFlag.integer(1...1_000_000))
    package var aging = 32

    @Option(
        help: NumericFlag.help("Agents that generate at once (sequences in the batch).", 1...LlamaEngine.maxSlots),
        transform: NumericFlag.integer(1...LlamaEngine.maxSlots))
    package var slots = 4

    @Option(help: ArgumentHelp("Built-in tools agents may call, comma-separated (see `anima tools`); none by default.", valueName: "names"))
    package var tools = ""

    /// The chosen built-in tools, sandboxed, as the kernel runs them.
    package var systemTools: [any SystemTool] {
        let names = Set(tools.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        return ToolAdapter.adapting(Toolbox.builtins().filter { names.contains($0.name) })
    }

    package func validate() throws {
        let known = Set(Toolbox.builtins().map(\.name))
        for name in tools.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !known.contains(name) {
            throw ValidationError("--tools: no built-in tool \"\(name)\"; choose from \(known.sorted().joined(separator: ", "))")
        }
    }

    /// The kernel's scheduler with the policy these options name.
    package var scheduler: Scheduler {
        switch policy {
        case .fifo: Scheduler(policy: FIFOPolicy())
        case .rr: Scheduler(policy: RoundRobinPolicy(quantum: quantum))
        case .priority: Scheduler(policy: PriorityPolicy(agingSteps: aging))
        }
    }

    package var description: String {
        switch policy {
        case .fifo: "fifo"
        case .rr: "round robin (\(quantum) tokens)"
        case .priority: "priority (aging \(aging) steps)"
        }
    }
}

/// The user running this command, as the kernel sees them.
package enum CurrentUser {
    package static var principal: Principal {
        Principal(name: NSUserName(), groups: ["users"])
    }
}
