import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaProcessor
import AnimaSecurity
import AnimaTesting
import ArgumentParser
import Foundation

struct BenchSecurity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "security",
        abstract: "What the security layer adds to a syscall: policy check plus audit append.",
        discussion: """
            Times --count `call_tool` syscalls of a state-changing tool (a write, so the
            policy engine checks every argument's provenance) from a process whose context
            holds the user's task and a fetched page of --page-bytes (tainted, the usual
            case). Two kernels run in the same process, alternating batches of 1000:
              off: owner/group rules and the in-memory audit ring (checks disabled);
              on:  the live user store, the provenance policy, the guards on the call's
                   arguments, and the hash-chained audit log on disk (fsync every 64).
            Reports p50/p99 of each, in microseconds, and what the layer adds.

            --components times the layer's parts alone, without the kernel around them:
            the live user lookup, the policy check, the output guard over the arguments,
            and the audit append, then all of them together as one syscall does them.

            Examples:
              anima-bench security --count 100000
              anima-bench security --components
            """
    )

    @Option(help: NumericFlag.help("Syscalls per configuration.", 1...100_000_000), transform: NumericFlag.integer(1...100_000_000))
    var count = 50_000
    @Option(
        help: NumericFlag.help("Bytes of untrusted page text in the context.", 0...100_000_000),
        transform: NumericFlag.integer(0...100_000_000)) var pageBytes = 4096
    @Option(help: "Directory for the audit log and user store (default: a fresh temporary one).") var dataDir: String?
    @Flag(help: "Leave the guards out of the 'on' configuration.") var noGuards = false
    @Flag(help: "Time the security layer's parts alone, without the kernel.") var components = false

    /// A tool that changes nothing but declares a write, so the policy check runs.
    struct NullWrite: SystemTool {
        let definition = ToolDefinition(
            name: "write_note", description: "Writes a note",
            parameters: try! JSONSchema([
                "type": "object", "properties": ["path": ["type": "string"], "text": ["type": "string"]], "required": ["path", "text"],
            ]))
        var effect: ToolEffect { .write }
        func run(_ arguments: JSONValue, for caller: ProcessCredentials) async throws -> ToolOutput { ToolOutput(text: "ok") }
    }

    /// A read-only tool that returns the page, to taint the context.
    struct Page: SystemTool {
        let text: String
        let definition = ToolDefinition(name: "fetch", description: "Fetches", parameters: try! JSONSchema(["type": "object"]))
        var outputSource: ProvenanceSource { .web }
        func run(_ arguments: JSONValue, for caller: ProcessCredentials) async throws -> ToolOutput { ToolOutput(text: text) }
    }

    mutating func run() async throws {
        guard count >= 1000, pageBytes >= 0 else { throw ValidationError("--count must be at least 1000 and --page-bytes not negative") }
        let directory =
            dataDir.map { ($0 as NSString).expandingTildeInPath }
            ?? NSTemporaryDirectory() + "anima-bench-security-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let log = try AuditLog(path: directory + "/" + AuditLog.fileName)
        let store = try PrincipalStore(path: directory + "/" + PrincipalStore.fileName, audit: log)
        let user = "bench"
        if store.principal(named: user) == nil { try store.addUser(user, groups: ["users"], by: .root) }
        let owner = Principal(name: user, groups: ["users"])
        if components {
            try Self.components(count: count, pageBytes: pageBytes, log: log, store: store, user: user)
            return
        }

        let words = ["river", "stone", "light", "forest", "signal", "harbor", "ember", "field", "cloud", "tower"]
        var page = ""
        var i = 0
        while page.utf8.count < pageBytes { page += words[i % words.count] + " "; i += 1 }
        let tools: [any SystemTool] = [NullWrite(), Page(text: page)]
        let model = ScriptedModel(contextLength: 1 << 30) { _ in .text("") }
        let off = Kernel(.init(processor: model, tools: tools))
        var monitor = SecurityMonitor()
        if noGuards { monitor.guards = nil }
        let on = Kernel(
            .init(
                processor: model, tools: tools, authorizer: SecurityAuthorizer(principals: store), audit: log,
                security: monitor))

        let task = "Fetch the page and save a note called notes/today.txt saying remember the milk"
        let call = ToolCall(id: "1", name: "write_note", arguments: ["path": "notes/today.txt", "text": "remember the milk"])
        let clock = ContinuousClock()
        let samples = BenchSyscalls.Samples()
        // Alternate batches so both configurations see the same machine conditions.
        for batch in 0..<(count / 1000) {
            for (name, kernel) in [("off", off), ("on", on)] {
                let pid = try await kernel.spawn(name: "bench-\(name)-\(batch)", owner: owner, task: task) { context in
                    _ = try await context.callTool(ToolCall(id: "0", name: "fetch", arguments: [:]))  // taint the context
                    var times: [Double] = []
                    times.reserveCapacity(1000)
                    for _ in 0..<1000 {
                        let t = clock.now
                        _ = try await context.callTool(call)
                        times.append(seconds(t.duration(to: clock.now)))
                    }
                    await samples.add(name, times)
                    return "done"
                }
                let status = try await kernel.wait(pid)
                guard case .completed = status else { throw ValidationError("the \(name) run failed: \(status)") }
            }
        }
        log.close()
        var byName: [String: [Double]] = [:]
        for (name, times) in await samples.all { byName[name, default: []] += times }
        let offTimes = byName["off"] ?? [], onTimes = byName["on"] ?? []
        print("\(offTimes.count) call_tool syscalls each, \(pageBytes)-byte untrusted page in context; microseconds")
        print("  configuration        p50      p99")
        func row(_ name: String, _ times: [Double]) {
            print(
                "  " + name.padding(toLength: 18, withPad: " ", startingAt: 0)
                    + String(format: " %7.2f  %7.2f", percentile(times, 0.5) * 1e6, percentile(times, 0.99) * 1e6))
        }
        row("checks off", offTimes)
        row(noGuards ? "checks on (no guards)" : "checks on", onTimes)
        print(
            String(
                format: "  added by security  %7.2f  %7.2f", (percentile(onTimes, 0.5) - percentile(offTimes, 0.5)) * 1e6,
                (percentile(onTimes, 0.99) - percentile(offTimes, 0.99)) * 1e6))
        print("audit log: \(directory)/\(AuditLog.fileName)")
    }

    static func components(count: Int, pageBytes: Int, log: AuditLog, store: PrincipalStore, user: String) throws {
        var ledger = ProvenanceLedger()
        ledger.record("Fetch the page and save a note called notes/today.txt saying remember the milk", label: .user)
        let words = ["river", "stone", "light", "forest", "signal", "harbor", "ember", "field", "cloud", "tower"]
        var page = ""
        var i = 0
        while page.utf8.count < pageBytes { page += words[i % words.count] + " "; i += 1 }
        ledger.record(page, label: ProvenanceLabel(sources: [.web, .tool("fetch")]))
        let engine = PolicyEngine()
        let guards = GuardPipeline()
        let arguments: JSONValue = ["path": "notes/today.txt", "text": "remember the milk"]
        let summary = "write_note " + arguments.jsonText
        let clock = ContinuousClock()
        func measure(_ body: () throws -> Void) rethrows -> [Double] {
            var out: [Double] = []
            out.reserveCapacity(count)
            for _ in 0..<count {
                let t = clock.now
                try body()
                out.append(seconds(t.duration(to: clock.now)))
            }
            return out
        }
        let rows: [(String, [Double])] = [
            ("user lookup", measure { _ = store.principal(named: user) }),
            ("policy check", measure { _ = engine.evaluate(tool: "write_note", effect: .write, arguments: arguments, context: ledger) }),
            ("output guard", measure { _ = guards.evaluate(arguments: arguments, .output) }),
            (
                "audit append",
                try measure { try log.append(pid: 3, owner: user, action: "call_tool", summary: summary, outcome: .completed) }
            ),
            (
                "all, per syscall",
                try measure {
                    _ = store.principal(named: user)
                    _ = engine.evaluate(tool: "write_note", effect: .write, arguments: arguments, context: ledger)
                    _ = guards.evaluate(arguments: arguments, .output)
                    try log.append(pid: 3, owner: user, action: "call_tool", summary: summary, outcome: .completed)
                }
            ),
            (
                "all but the guard",
                try measure {
                    _ = store.principal(named: user)
                    _ = engine.evaluate(tool: "write_note", effect: .write, arguments: arguments, context: ledger)
                    try log.append(pid: 3, owner: user, action: "call_tool", summary: summary, outcome: .completed)
                }
            ),
        ]
        log.close()
        print("\(count) iterations each, \(pageBytes)-byte untrusted page in context; microseconds")
        print("  part                   p50      p99")
        for (name, times) in rows {
            print(
                "  " + name.padding(toLength: 18, withPad: " ", startingAt: 0)
                    + String(format: " %7.2f  %7.2f", percentile(times, 0.5) * 1e6, percentile(times, 0.99) * 1e6))
        }
    }
}
