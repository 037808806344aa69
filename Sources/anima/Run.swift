import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaLlama
import AnimaMemory
import AnimaProcessor
import AnimaSecurity
import AnimaStorage
import AnimaTools
import ArgumentParser
import Foundation

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run agents to completion, showing their progress live.",
        discussion: """
            Each task becomes an agent process under Anima's kernel; several tasks run at
            once, sharing the model through the scheduler. While they run, `anima ps`,
            `anima top` and `anima kill` in another terminal see and control them.

            Examples:
              anima run "What is the capital of Italy?"
              anima run "Summarise the water cycle" "Name three rivers" --policy priority
              anima run --max-tokens 200 --max-steps 4 "Plan a picnic"
              anima run --memory assistant "My sister's name is Ada."
              anima run --private "Draft a reply to my landlord about the rent"
              anima run --tools mail,calendar__list_events "What is on my calendar on June 13?"

            When `anima setup` configured providers, every model call goes through the
            router. An agent's calls stay on this machine once its context holds memory or
            file contents; --private keeps all of them here from the start.
            """
    )

    @Argument(help: "One or more tasks; each runs as its own agent.")
    var tasks: [String]

    @Option(help: "A system prompt for every agent.")
    var system: String?

    @Option(help: NumericFlag.help("Steps (model calls) before an agent gives up.", 1...1000), transform: NumericFlag.integer(1...1000))
    var maxSteps = 8

    @Option(
        help: NumericFlag.help("Token quota per agent (answers over its whole life).", 1...10_000_000),
        transform: NumericFlag.integer(1...10_000_000))
    var maxTokens: Int?

    @Option(help: NumericFlag.help("Wall-time quota per agent, in seconds.", 0.001...86_400), transform: NumericFlag.number(0.001...86_400))
    var maxSeconds: Double?

    @Option(help: NumericFlag.help("Tokens per model call.", 1...100_000), transform: NumericFlag.integer(1...100_000))
    var tokensPerStep = 256

    @Option(
        help: NumericFlag.help("Priority of the agents (larger runs first with --policy priority).", -20...20),
        transform: NumericFlag.integer(-20...20))
    var priority = 0

    @Flag(help: "Keep generating to the token limit even after the model ends its turn (for load tests).")
    var ignoreEos = false

    @Option(
        help: ArgumentHelp(
            "Run with the persistent memory of this agent: it remembers earlier runs, and what leaves its context stays searchable (see anima memory).",
            valueName: "name"))
    var memory: String?

    @OptionGroup var memoryLocation: MemoryLocation

    @Flag(help: "Print one JSON object per agent at the end instead of live text.")
    var json = false

    @OptionGroup var kernelOptions: KernelOptions
    @OptionGroup var modelOptions: ModelOptions

    func validate() throws {
        for selector in allowSelectors ?? [] {
            do { _ = try ActionSelector(parsing: selector) } catch { throw ValidationError("--allow: \(error)") }
        }
        if tasks.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) { throw ValidationError("a task is empty") }
        if let memory {
            // One pager per agent: two processes writing one window would overwrite each other.
            if tasks.count > 1 { throw ValidationError("--memory runs one agent; give one task") }
            do { _ = try MemoryNamespace(user: CurrentUser.principal.name, agent: memory) } catch {
                throw ValidationError("--memory: \(error)")
            }
        }
    }

    @Option(
        help: ArgumentHelp(
            "The side-effecting calls the tasks may make once they have read untrusted text: tools (names, servers, globs; comma-separated) and, in parentheses, the values a call must use, e.g. 'bank__send_money(recipient=alice, amount=20)' (a value in double quotes when it holds , or )); a call with other values is asked or denied from the start. Default: the model decides from each task before it reads anything.",
            valueName: "tool[(arg=value,...)][,...]"))
    var allow: String?

    /// The `--allow` selectors, blanks dropped; nil without the flag.
    var allowSelectors: [String]? {
        allow.map { ActionSelector.split($0) }
    }

    @Option(
        help: ArgumentHelp(
            "How each step chooses between a tool and an answer: grammar, decide-first or native (default: the one measured best for the model's family).",
            valueName: "strategy"),
        transform: { raw in
            guard let strategy = AgentLoop.ToolStrategy(rawValue: raw) else {
                throw ValidationError("--tool-strategy must be grammar, decide-first or native, not \(raw)")
            }
            return strategy
        })
    var toolStrategy: AgentLoop.ToolStrategy?

    @Flag(help: "Run the agents in this process even when a daemon is running.")
    var local = false

    @Flag(name: .customLong("private"), help: "The tasks hold private data: every model call stays on this machine.")
    var isPrivate = false

    @Option(help: "An installed store package to run: an agent (its prompt, tools and granted groups only) or a model (verified first).")
    var package: String?

    mutating func run() async throws {
        let installed = try package.map { try InstalledAgent.load($0, model: &modelOptions.model) }
        // With a daemon running, agents with memory run there too when it serves their memory:
        // it is the memory's one writer.
        if !local, !ignoreEos, modelOptions.model == nil, installed == nil,
            let found = try await DaemonClient.discoverWithDataDirectory(scopes: memory == nil ? [.agents] : [.agents, .memory]),
            memory == nil || MemoryCommand.serves(found.dataDirectory, memoryLocation)
        {
            try await runOnDaemon(found.client)
            return
        }
        // Tools first: a selector that chooses nothing is reported before a model loads.
        let toolbox = try await kernelOptions.loadTools(packages: memoryLocation.directory)
        defer { Task { await toolbox.shutdown() } }
        let systemTools = ToolAdapter.adapting(toolbox.tools)
        // So is an --allow that chooses none of the agent's tools.
        let allowed: [String]?
        do { allowed = try allowSelectors.map { try ActionSelector.resolve($0, among: systemTools.map(\.definition.name)) } } catch {
            throw ValidationError("--allow: \(error)")
        }
        let engine = try await modelOptions.load(
            slots: kernelOptions.slots, scheduler: kernelOptions.scheduler, agent: memory, tuned: kernelOptions.tune)
        var memorySystem: MemorySystem?
        if memory != nil { memorySystem = try await memoryLocation.open(embeddings: true) }
        var candidate = RouteCandidate.local(engine)
        if ignoreEos { candidate.processor = IgnoringEndOfTurn(engine) }
        let kernel = Kernel(
            kernelOptions.configured(
                try .standard(
                    processor: try ConfiguredProcessor.processor(local: candidate), tools: systemTools, memory: memorySystem,
                    dataDirectory: memoryLocation.directory.path)))
        // A policy's "ask" goes to the person at this terminal; without one it is a denial.
        if let terminal = TerminalApprover.forControllingTerminal() { await terminal.answerFor(kernel) }
        let tuner = kernelOptions.tune ? KernelOptions.tuner(engine: engine, kernel: kernel) : nil
        let tuning = Task { await tuner?.run() }
        defer { tuning.cancel() }
        let procfs = Task { [kernelOptions] in
            await ProcFS().serve(kernel, engine: engine, policy: kernelOptions.description, placement: engine.offload.summary, tuner: tuner)
        }
        defer { procfs.cancel() }

        let events = await kernel.events()
        var pids: [PID] = []
        for (i, task) in tasks.enumerated() {
            var spec = AgentSpec(
                name: "agent-\(i + 1)", task: task, systemPrompt: system, tools: systemTools.map(\.definition.name), priority: priority,
                quotas: Quotas(tokens: maxTokens, wallTime: maxSeconds.map { .milliseconds(Int($0 * 1000)) }),
                limits: .init(maxSteps: maxSteps), sampling: .init(temperature: 0, maxTokensPerStep: tokensPerStep), memory: memory,
                privacy: isPrivate ? .private : .public,
                actions: allowed)
            installed?.apply(to: &spec, owner: CurrentUser.principal)
            if let toolStrategy { spec.toolStrategy = toolStrategy }
            pids.append(try await kernel.spawn(spec, owner: CurrentUser.principal))
        }
        let single = pids.count == 1
        if !json {
            Terminal.error(
                "kernel \(getpid()): \(pids.count) agent(s), pid \(pids.map(\.description).joined(separator: ", ")), \(kernelOptions.description)\n"
            )
        }
        let printer = Task { [json] in
            guard !json else { return }
            // One agent streams as it writes; several print whole lines, each tagged with its pid.
            var lines: [PID: String] = [:]
            func flush(_ pid: PID) {
                if let line = lines.removeValue(forKey: pid), !line.isEmpty { Terminal.write("[\(pid)] \(line)\n") }
            }
            for await event in events {
                switch event {
                case .text(let pid, let text):
                    if single {
                        Terminal.write(text)
                        continue
                    }
                    var parts = (lines[pid, default: ""] + text).split(separator: "\n", omittingEmptySubsequences: false)
                    lines[pid] = String(parts.removeLast())
                    for part in parts where !part.isEmpty { Terminal.write("[\(pid)] \(part)\n") }
                case .toolCall(let pid, let call):
                    flush(pid)
                    Terminal.write("\n[\(pid)] → \(call.name) \(call.arguments.jsonText)\n")
                case .toolResult(let pid, let output): Terminal.write("[\(pid)] ← \(output.text.prefix(200))\n")
                case .toolDenied(let pid, let call, let reason):
                    flush(pid)
                    Terminal.write("\n[\(pid)] ✗ \(call.name) \(call.arguments.jsonText): denied: \(reason)\n")
                case .exited(let pid, let status):
                    flush(pid)
                    Terminal.write("\n[\(pid)] exited: \(status)\n")
                    if case .completed(let answer) = status { Self.showMarks(answer, pid: pid.description) }
                case .spawned, .stateChanged, .approvalRequested, .approvalSettled, .turnEnded: break
                }
            }
        }
        var failures = 0
        var rows: [JSONValue] = []
        for pid in pids {
            let status = try await kernel.wait(pid)
            let usage = await kernel.status(pid)?.usage ?? ResourceUsage()
            if case .completed = status {} else { failures += 1 }
            var row = JSONObject()
            row["pid"] = .number(Double(pid.rawValue))
            row["status"] = .string(status.description)
            if case .completed(let answer) = status { row["answer"] = .string(answer) }
            row["generated_tokens"] = .number(Double(usage.generatedTokens))
            row["tool_calls"] = .number(Double(usage.toolCalls))
            rows.append(.object(row))
        }
        try? await Task.sleep(for: .milliseconds(50))  // let the printer drain
        printer.cancel()
        if json { for row in rows { print(row.jsonText) } }
        if failures > 0 { throw ExitCode(2) }
    }
}

extension Run {
    /// Runs each task as an agent of the daemon, printing its events as they stream in.
    func runOnDaemon(_ daemon: DaemonClient) async throws {
        let specs: [JSONValue] = tasks.enumerated().map { i, task in
            var spec = JSONObject()
            spec["task"] = .string(task)
            spec["name"] = .string("agent-\(i + 1)")
            if let system { spec["system"] = .string(system) }
            spec["max_steps"] = .number(Double(maxSteps))
            spec["tokens_per_step"] = .number(Double(tokensPerStep))
            spec["priority"] = .number(Double(priority))
            if let maxTokens { spec["max_tokens"] = .number(Double(maxTokens)) }
            if let maxSeconds { spec["max_seconds"] = .number(max(1, maxSeconds.rounded(.up))) }
            if isPrivate { spec["privacy"] = ["private": true] }
            if let memory { spec["memory"] = .string(memory) }
            if let allow = allowSelectors { spec["actions"] = .array(allow.map { .string($0) }) }
            // The daemon resolves the selectors against its own tools (its mcp.json).
            if !kernelOptions.toolSelectors.isEmpty { spec["tools"] = .array(kernelOptions.toolSelectors.map { .string($0) }) }
            return .object(spec)
        }
        let quiet = json
        let single = tasks.count == 1
        let terminal = TerminalApprover.forControllingTerminal()
        let rows = try await withThrowingTaskGroup(of: JSONValue.self) { group in
            for spec in specs {
                group.addTask {
                    var pid = 0
                    var row = JSONObject()
                    try await daemon.stream("/anima/v1/agents/run", spec) { name, data in
                        let event = (try? JSONValue(parsing: data)) ?? .null
                        switch name {
                        case "spawned"?: pid = WireNumber.clamped(event["pid"]?.numberValue ?? 0, to: 0...Int(UInt32.max))
                        case "text"?:
                            if !quiet {
                                Terminal.write(single ? event["text"]?.stringValue ?? "" : "[\(pid)] \(event["text"]?.stringValue ?? "")\n")
                            }
                        case "tool_call"?:
                            if !quiet {
                                Terminal.write(
                                    "\n[\(pid)] → \(event["function"]?["name"]?.stringValue ?? "") \(event["function"]?["arguments"]?.stringValue ?? "")\n"
                                )
                            }
                        case "tool_result"?: if !quiet { Terminal.write("[\(pid)] ← \(event["output"]?.stringValue?.prefix(200) ?? "")\n") }
                        case "tool_denied"?:
                            if !quiet {
                                Terminal.write(
                                    "\n[\(pid)] ✗ \(event["function"]?["name"]?.stringValue ?? ""): denied: \(event["reason"]?.stringValue ?? "")\n"
                                )
                            }
                        case "approval"?:
                            // Answer at this terminal (no terminal: deny at once rather than let the daemon wait).
                            let id = event["id"]?.stringValue ?? ""
                            let question = event["question"]?.stringValue ?? "a tool call needs your yes"
                            let agent = pid
                            Task {
                                let yes = await terminal?.ask(question: question) ?? false
                                _ = try? await daemon.call("/anima/v1/processes/\(agent)/approvals/\(id)", posting: ["approve": .bool(yes)])
                            }
                        case "exited"?:
                            row["pid"] = .number(Double(pid))
                            row["status"] = event["status"] ?? "unknown"
                            if let answer = event["answer"] { row["answer"] = answer }
                            if !quiet {
                                Terminal.write("\n[\(pid)] exited: \(event["status"]?.stringValue ?? "")\n")
                                Self.showMarks(event["answer"]?.stringValue ?? "", pid: "\(pid)")
                            }
                        default: break
                        }
                    }
                    return .object(row)
                }
            }
            var rows: [JSONValue] = []
            for try await row in group { rows.append(row) }
            return rows
        }
        if json { for row in rows { print(row.jsonText) } }
        if rows.contains(where: { $0["status"]?.stringValue != "completed" }) { throw ExitCode(2) }
    }
}

extension Run {
    /// The streamed text is marked as the kernel streams it (once an agent has read
    /// untrusted text, each step's text comes whole, marked); say what the marks mean.
    static func showMarks(_ answer: String, pid: String) {
        guard answer.contains(AnswerMarks.open) else { return }
        Terminal.write("[\(pid)] warning: this answer repeats text from untrusted sources, marked ⟦untrusted from SOURCE⟧...⟦/untrusted⟧\n")
    }
}
