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

    @Flag(help: KernelOptions.tuneHelp) package var tune = false

    package static let tuneHelp = ArgumentHelp(
        "Let the kernel tune the engine's threads, batch, active slots and time slice from the live workload, keeping a change only when it measured better twice in a row (each decision in the audit log; `anima top` shows them). The engine then holds KV room for twice --slots, --slots of them active at first.")

    /// A tuner for `engine` that reports each decision to `kernel`'s audit log.
    package static func tuner(engine: any TunableEngine, kernel: Kernel) -> KernelTuner {
        KernelTuner(engine: engine) { decision in await kernel.noteTuning(decision) }
    }

    @Option(
        help: NumericFlag.help("Priority aging: waiting this many decode steps adds one priority level.", 1...1_000_000),
        transform: NumericFlag.integer(1...1_000_000))
    package var aging = 32

    @Option(
        help: NumericFlag.help("Agents that generate at once (sequences in the batch).", 1...LlamaEngine.maxSlots),
        transform: NumericFlag.integer(1...LlamaEngine.maxSlots))
    package var slots = 4

    @Option(
        help: ArgumentHelp(
            "Tools agents may call, comma-separated: built-in names, MCP tools by full name (mail__send_email), all of a server's (mail) or a glob (mail__send_*, *); none by default. See `anima tools`.",
            valueName: "names"))
    package var tools = ""

    @Option(help: ArgumentHelp("MCP server configuration, for --tools that name MCP tools.", valueName: "file"))
    package var mcpConfig = MCPServerConfiguration.defaultFile

    @Option(
        help: NumericFlag.help("Seconds a tool call waits for a person's yes before it is denied.", 1...86_400, valueName: "seconds"),
        transform: NumericFlag.integer(1...86_400))
    package var approvalTimeout = 300

    /// `configuration` with what these options say about the kernel (the approval timeout).
    package func configured(_ configuration: Kernel.Configuration) -> Kernel.Configuration {
        var configuration = configuration
        configuration.approvalTimeout = .seconds(approvalTimeout)
        return configuration
    }

    /// What --tools lists.
    package var toolSelectors: [String] {
        tools.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The tools --tools chooses, the MCP servers they need started in their sandboxes
    /// (stop them with `shutdown()`); servers that failed are reported on stderr.
    /// The tools `--tools` chooses among the built-ins, mcp.json's servers and `extra`
    /// (the servers of installed tool packages).
    /// With `packages` (a data directory) the tool packages installed there are offered
    /// too, each verified before its server starts and limited to what it was granted.
    package func loadTools(extra: [MCPServerConfiguration] = [], packages: URL? = nil) async throws -> Toolbox {
        let box: Toolbox
        let installed = toolSelectors.isEmpty ? [] : packages.map { ToolPackages.servers(dataDirectory: $0) } ?? []
        do {
            box = try await Toolbox.load(selecting: toolSelectors, mcpFile: mcpConfig, extra: extra + installed)
        } catch {
            throw ValidationError("--tools: \(error)")
        }
        for problem in box.problems { Terminal.error("warning: \(problem)\n") }
        return box
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
