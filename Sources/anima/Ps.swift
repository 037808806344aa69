import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaLlama
import ArgumentParser
import Foundation

struct Ps: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List agent processes of every running Anima kernel.",
        discussion: """
            Shows the processes of kernels started by `anima run` (or the daemon) on this
            machine, for the current user.

            Examples:
              anima ps
              anima ps --all --json
              anima ps --tree        (children under their parents, as `anima do` spawns them)
            """
    )

    @Flag(help: "Include processes that have exited.")
    var all = false

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(help: "Show each process under its parent.")
    var tree = false

    func run() throws {
        let kernels = ProcFS().kernels()
        if json {
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(kernels), as: UTF8.self))
            return
        }
        guard !kernels.isEmpty else {
            print("No Anima kernel is running. Start agents with `anima run \"task\"`.")
            return
        }
        print(Self.table(tree ? kernels.map(Self.treeOrdered) : kernels, all: all))
    }

    /// The kernel's processes with each child right after its parent, its name indented by depth.
    static func treeOrdered(_ kernel: ProcFS.Snapshot) -> ProcFS.Snapshot {
        var out = kernel
        let byParent = Dictionary(grouping: kernel.processes) { $0.parent }
        let pids = Set(kernel.processes.map(\.pid))
        var ordered: [ProcessStatus] = []
        func visit(_ process: ProcessStatus, depth: Int) {
            guard depth < 64 else { return }
            var shown = process
            shown.name = String(repeating: "  ", count: depth) + (depth > 0 ? "└ " : "") + process.name
            ordered.append(shown)
            for child in byParent[process.pid, default: []].sorted(by: { $0.pid < $1.pid }) { visit(child, depth: depth + 1) }
        }
        // Roots: no parent, or a parent no longer in the table.
        for root in kernel.processes.filter({ $0.parent.map { !pids.contains($0) } ?? true }).sorted(by: { $0.pid < $1.pid }) {
            visit(root, depth: 0)
        }
        out.processes = ordered
        return out
    }

    static func table(_ kernels: [ProcFS.Snapshot], all: Bool) -> String {
        var lines = [pad(["KERNEL", "PID", "PPID", "USER", "STATE", "PRI", "TOKENS", "TOOLS", "SLOT", "AGE", "NAME"])]
        for k in kernels {
            for p in k.processes where all || p.state.isAlive {
                lines.append(
                    pad([
                        "\(k.hostPID)", "\(p.pid)", p.parent.map(\.description) ?? "-", p.owner, "\(p.state)", "\(p.priority)",
                        "\(p.usage.generatedTokens)", "\(p.usage.toolCalls)", p.slot.map(String.init) ?? "-",
                        age(since: p.started), p.name,
                    ]))
            }
        }
        return lines.joined(separator: "\n")
    }

    static let widths = [7, 5, 5, 8, 18, 4, 7, 6, 5, 6, 0]

    static func pad(_ columns: [String]) -> String {
        zip(columns, widths).map { text, width in
            width == 0
                ? text
                : text.count >= width ? String(text.prefix(width - 1)) + " " : text + String(repeating: " ", count: width - text.count)
        }.joined()
    }

    static func age(since date: Date) -> String {
        let s = Int(Date().timeIntervalSince(date))
        return s < 60 ? "\(s)s" : s < 3600 ? "\(s / 60)m" : "\(s / 3600)h"
    }
}

struct Kill: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a signal to an agent process.",
        discussion: """
            terminate (the default) ends the agent at once and frees its slot; suspend
            pauses it, saving its KV state; resume lets it continue.

            Examples:
              anima kill 3
              anima kill --signal suspend 3
              anima kill --kernel 41234 3
            """
    )

    @Argument(
        help: NumericFlag.help("The agent's PID, as `anima ps` shows it.", 1...UInt32.max), transform: NumericFlag.integer(1...UInt32.max))
    var pid: UInt32

    @Option(help: "terminate, suspend or resume.")
    var signal: Signal = .terminate

    @Option(
        help: NumericFlag.help("The kernel (host process id) when several run the same PID.", 1...Int32.max),
        transform: NumericFlag.integer(1...Int32.max))
    var kernel: Int32?

    func run() throws {
        let procfs = ProcFS()
        let candidates = procfs.kernels().filter { k in
            (kernel == nil || k.hostPID == kernel) && k.processes.contains { $0.pid.rawValue == pid && $0.state.isAlive }
        }
        guard !candidates.isEmpty else {
            throw CLIError("no running agent has pid \(pid)\(kernel.map { " in kernel \($0)" } ?? ""); see `anima ps`")
        }
        guard candidates.count == 1 else {
            throw CLIError(
                "pid \(pid) runs in several kernels (\(candidates.map { "\($0.hostPID)" }.joined(separator: ", "))); pick one with --kernel"
            )
        }
        try procfs.request(signal, to: PID(pid), inKernel: candidates[0].hostPID, user: CurrentUser.principal.name)
        print("sent \(signal.rawValue) to pid \(pid) in kernel \(candidates[0].hostPID)")
    }
}

extension Signal: ExpressibleByArgument {}

struct Top: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A live view of agents, tokens per second and KV slots.",
        discussion: """
            Refreshes every second until interrupted.

            Examples:
              anima top
              anima top --iterations 1
            """
    )

    @Option(
        help: NumericFlag.help("Stop after this many refreshes (default: run until interrupted).", 1...1_000_000_000),
        transform: NumericFlag.integer(1...1_000_000_000))
    var iterations: Int?

    mutating func run() async throws {
        var previous: [Int32: (tokens: Int, time: Date)] = [:]
        var n = 0
        while iterations.map({ n < $0 }) ?? true {
            let kernels = ProcFS().kernels()
            var out = Terminal.isInteractive(fd: 1) ? "\u{1B}[H\u{1B}[2J" : ""
            out += "anima top — \(kernels.count) kernel(s), \(Date())\n"
            let devices = (try? ComputeDevice.all()) ?? []
            out += "devices: " + (devices.isEmpty ? "none reported" : devices.map(\.summary).joined(separator: "; ")) + "\n"
            for k in kernels {
                let rate = previous[k.hostPID].map { p in
                    Double(k.generatedTokens - p.tokens) / max(k.updated.timeIntervalSince(p.time), 0.001)
                }
                previous[k.hostPID] = (k.generatedTokens, k.updated)
                out += "\nkernel \(k.hostPID): \(k.model), \(k.policy); slots \(k.runningSequences)/\(k.slots) busy, "
                out += "\(k.waitingRequests) waiting, \(k.preemptions) preemptions, "
                if let placement = k.placement { out += placement + ", " }
                out += rate.map { String(format: "%.1f tokens/s", $0) } ?? "measuring tokens/s"
                out += "\n"
                if let t = k.tuning {
                    let counts = t.kept + t.reverted > 0 ? "; \(t.kept) changes kept, \(t.reverted) reverted" : ""
                    out += "settings: \(t.settings); \(t.state)\(counts)\n"
                    if let last = t.lastDecision { out += "  last: \(last)\n" }
                }
                out += Ps.table([k], all: false) + "\n"
            }
            Terminal.write(out)
            n += 1
            if iterations.map({ n < $0 }) ?? true { try await Task.sleep(for: .seconds(1)) }
        }
    }
}
