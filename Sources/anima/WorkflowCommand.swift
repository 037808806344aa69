import AnimaAutomation
import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaSecurity
import AnimaStore
import AnimaTools
import ArgumentParser
import Foundation

/// `anima workflow`: add, inspect, run and cancel workflows kept in the data directory.
struct WorkflowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workflow",
        abstract: "Workflows: steps that run by themselves, durably, on triggers.",
        discussion: """
            A workflow is a JSON file (schema: contrib/workflows/workflow.schema.json) of named
            steps: agent runs, tool and MCP calls, HTTP requests, conditions, loops, waits,
            sub-workflows and approvals. Every step's start and result are stored before the
            next one starts, so a daemon killed at any moment resumes its runs where they
            stopped. When `anima serve` or `anima workflow worker` runs on the same data
            directory, runs go through it; otherwise `run` executes here.

            Examples:
              anima workflow add contrib/workflows/issue-triage.json
              anima workflow run nightly-compaction --input 'agents=["notes"]'
              anima workflow runs
              anima workflow history 3fa1c2d4e5b6a7c8
              anima workflow approve 3fa1c2d4e5b6a7c8 review
              anima workflow cancel 3fa1c2d4e5b6a7c8
            """,
        subcommands: [
            WorkflowAdd.self, WorkflowList.self, WorkflowShow.self, WorkflowRunCommand.self, WorkflowRuns.self, WorkflowHistory.self,
            WorkflowCancel.self, WorkflowApprove.self, WorkflowRemove.self, WorkflowWorker.self,
        ]
    )
}

/// The data directory's store and an engine acting for the caller.
struct WorkflowLocation: ParsableArguments {
    @OptionGroup var security: SecurityOptions
    @Option(
        help: ArgumentHelp(
            "A PostgreSQL run queue shared by daemons on several machines (default: $ANIMA_WORKFLOW_DATABASE, else SQLite in the data directory); every daemon needs the same workflows.key.",
            valueName: "postgres://..."))
    var database: String?

    /// The `--database` URL, else `ANIMA_WORKFLOW_DATABASE`, else nil (SQLite).
    var databaseURL: String? {
        database ?? ProcessInfo.processInfo.environment["ANIMA_WORKFLOW_DATABASE"].flatMap { $0.isEmpty ? nil : $0 }
    }

    func store() throws -> any WorkflowStore {
        let directory = URL(fileURLWithPath: security.directory)
        if let url = databaseURL { return try PostgresWorkflowStore(url: url, keyDirectory: directory) }
        return try SQLiteWorkflowStore(directory: directory)
    }

    /// Where the store is, for the worker's greeting.
    var storeDescription: String {
        (try? databaseURL.map { try PostgresWorkflowLocation(url: $0).description }) ?? security.directory + "/workflows.sqlite"
    }

    /// An engine whose tools run through a kernel without a model (agent steps need `anima serve`).
    func engine(store: any WorkflowStore, worker: String? = nil) throws -> WorkflowEngine {
        let tools = ToolAdapter.adapting(Toolbox.builtins())
        let kernel = Kernel(try .standard(processor: nil, tools: tools, dataDirectory: security.directory))
        if let worker { return WorkflowEngine(store: store, actions: KernelStepActions(kernel: kernel), worker: worker) }
        return WorkflowEngine(store: store, actions: KernelStepActions(kernel: kernel))
    }

    var workerPIDFile: String { security.directory + "/workflow-worker.pid" }

    /// True when a daemon or worker runs on this data directory and will take queued runs.
    var daemonRuns: Bool {
        for file in [workerPIDFile, DaemonClient.file.path] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            if file == workerPIDFile, let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0 {
                return true
            }
            if file != workerPIDFile, let json = try? JSONValue(parsing: text), let pid = json["pid"]?.numberValue,
                kill(Int32(pid), 0) == 0,
                json["dataDirectory"]?.stringValue == URL(fileURLWithPath: security.directory).standardizedFileURL.path
            {
                return true
            }
        }
        return false
    }
}

func printRuns(_ runs: [WorkflowRun]) {
    for run in runs {
        print([run.id, run.workflow, run.status.rawValue, run.trigger, WorkflowRun.iso(run.created)].joined(separator: "\t"))
    }
}

struct WorkflowAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add or replace a workflow from a JSON file; prints a webhook's signing secret once.")
    @Argument(help: "The workflow file.") var file: String
    @OptionGroup var location: WorkflowLocation

    mutating func run() async throws {
        let path = (file as NSString).expandingTildeInPath
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        let store = try location.store()
        let engine = WorkflowEngine(store: store, actions: KernelStepActions(kernel: nil))
        let caller = try location.security.caller()
        let (workflow, secret) = try await engine.add(String(decoding: data, as: UTF8.self), owner: caller)
        print("added \(workflow.name) v\(workflow.version) (\(workflow.allSteps.count) steps) owned by \(caller.name)")
        if let secret {
            print(
                "webhook: POST /anima/v1/workflows/\(workflow.name)/webhook with header \(WebhookSignature.header): sha256=HMAC-SHA256(body)"
            )
            print("signing secret (shown once here; keep it with the sender): \(secret)")
        }
    }
}

struct WorkflowList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the workflows added.")
    @OptionGroup var location: WorkflowLocation
    @Flag(help: "Print JSON.") var json = false

    mutating func run() async throws {
        let all = try await location.store().workflows()
        // Workflows that store packages registered at install say which package (verified here).
        let installed = try InstalledStore.at(URL(fileURLWithPath: location.security.directory))
        let (_, problems) = installed.workflows()
        for problem in problems { Terminal.error("warning: \(problem)\n") }
        var fromPackage: [String: String] = [:]
        for (package, names) in StoreWorkflows.registered(installed) { for name in names { fromPackage[name] = package } }
        if json {
            print(
                JSONValue.array(
                    all.map { (stored: StoredWorkflow) -> JSONValue in
                        var o: JSONObject = [
                            "name": .string(stored.workflow.name), "version": .number(Double(stored.workflow.version)),
                            "owner": .string(stored.owner.name),
                            "triggers": .array(stored.workflow.triggers.map { .string($0.name) }),
                            "description": .string(stored.workflow.description),
                        ]
                        if let package = fromPackage[stored.workflow.name] { o["package"] = .string(package) }
                        return .object(o)
                    }
                ).jsonText)
            return
        }
        for stored in all {
            let triggers = stored.workflow.triggers.map(\.name).joined(separator: ",")
            print(
                [
                    stored.workflow.name, "v\(stored.workflow.version)", stored.owner.name, triggers.isEmpty ? "manual" : triggers,
                    stored.workflow.description + (fromPackage[stored.workflow.name].map { " (package \($0))" } ?? ""),
                ]
                .joined(separator: "\t"))
        }
    }
}

struct WorkflowShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print a workflow's file, or a run with its steps.")
    @Argument(help: "A workflow name or a run id.") var name: String
    @OptionGroup var location: WorkflowLocation

    mutating func run() async throws {
        let store = try location.store()
        if let stored = try await store.workflow(named: name) {
            print(stored.workflow.source.jsonText)
            return
        }
        guard let run = try await store.run(name) else { throw WorkflowError.unknownWorkflow(name) }
        var json = run.json.objectValue ?? [:]
        json["steps"] = .array(
            try await store.steps(run: run.id).map { s in
                var o: JSONObject = [
                    "step": .string(s.path), "status": .string(s.status.rawValue), "attempt": .number(Double(s.attempt)),
                    "key": .string(s.key),
                ]
                if let output = s.output {
                    o["output"] = output.value
                    o["label"] = .string(output.label.description)
                }
                if let error = s.error { o["error"] = .string(error) }
                return .object(o)
            })
        print(JSONValue.object(json).jsonText)
    }
}

struct WorkflowRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Start a run; waits for it and prints its output unless --detach.")
    @Argument(help: "The workflow's name.") var name: String
    @Option(name: .customLong("input"), help: "An input as key=value (the value is read as JSON when it parses, else as text); repeatable.")
    var inputs: [String] = []
    @Flag(help: "Queue the run and print its id without waiting.") var detach = false
    @OptionGroup var location: WorkflowLocation

    mutating func run() async throws {
        var object = JSONObject()
        for pair in inputs {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw ValidationError("--input \(pair): write key=value, e.g. --input topic=cats")
            }
            let value = String(pair[pair.index(after: eq)...])
            object[String(pair[..<eq])] = (try? JSONValue(parsing: value)) ?? .string(value)
        }
        let store = try location.store()
        let engine = try location.engine(store: store)
        let caller = try location.security.caller()
        let queued = detach || location.daemonRuns
        let run = try await engine.start(name, inputs: .object(object), caller: caller, dispatch: !queued)
        if detach {
            print(run.id)
            return
        }
        Terminal.error("run \(run.id)\(queued ? " (queued for the daemon)" : "")\n")
        let finished = try await engine.wait(run.id)
        if finished.status == .completed {
            print(finished.output?.value.jsonText ?? "null")
        } else {
            Terminal.error("run \(finished.id) \(finished.status.rawValue): \(finished.error ?? "")\n")
            throw ExitCode(1)
        }
    }
}

struct WorkflowRuns: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runs", abstract: "List recent runs, newest first.")
    @Argument(help: "Only this workflow's runs.") var name: String?
    @Option(help: NumericFlag.help("How many runs to list.", 1...100_000), transform: NumericFlag.integer(1...100_000))
    var limit: Int = 50
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var location: WorkflowLocation

    mutating func run() async throws {
        let runs = try await location.store().runs(workflow: name, limit: limit)
        if json { print(JSONValue.array(runs.map(\.json)).jsonText) } else { printRuns(runs) }
    }
}

struct WorkflowHistory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "Print everything that happened in a run.")
    @Argument(help: "The run's id.") var id: String
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var location: WorkflowLocation

    mutating func run() async throws {
        let store = try location.store()
        guard try await store.run(id) != nil else { throw WorkflowError.unknownRun(id) }
        let events = try await store.history(run: id)
        if json {
            print(JSONValue.array(events.map(\.json)).jsonText)
            return
        }
        for e in events {
            print([String(e.sequence), WorkflowRun.iso(e.at), e.event, e.path ?? "-", e.detail].joined(separator: "\t"))
        }
    }
}

struct WorkflowCancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a run at its next step boundary.")
    @Argument(help: "The run's id.") var id: String
    @OptionGroup var location: WorkflowLocation

    mutating func run() async throws {
        // Through a kernel, so the cancel is recorded in the audit log.
        let engine = try location.engine(store: try location.store())
        if try await engine.cancel(id, caller: try location.security.caller()) {
            print("cancelling \(id)")
        } else {
            print("run \(id) had already finished")
        }
    }
}

struct WorkflowApprove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve", abstract: "Approve (or --reject) the approval step a run waits on.")
    @Argument(help: "The run's id.") var id: String
    @Argument(help: "The approval step, as `anima workflow show RUN` names it.") var step: String
    @Flag(help: "Reject instead.") var reject = false
    @OptionGroup var location: WorkflowLocation

    mutating func run() async throws {
        let engine = try location.engine(store: try location.store())
        try await engine.approve(id, step: step, approved: !reject, caller: try location.security.caller())
        print("\(reject ? "rejected" : "approved") \(step) of \(id)")
    }
}

struct WorkflowRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a workflow (its runs and history stay).")
    @Argument(help: "The workflow's name.") var name: String
    @OptionGroup var location: WorkflowLocation

    mutating func run() async throws {
        let engine = WorkflowEngine(store: try location.store(), actions: KernelStepActions(kernel: nil))
        try await engine.remove(name, caller: try location.security.caller())
        print("removed \(name)")
    }
}

struct WorkflowWorker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run workflows without the HTTP daemon: resume, take queued runs, fire cron and file triggers.",
        discussion: """
            On start it resumes every unfinished run whose lease has expired, then takes
            queued runs as they come. It has no model, so it leaves runs with agent steps (and
            runs calling tools or asking for groups it lacks) to a daemon that serves them
            (`anima serve`).
            With --database, any number of workers and daemons on any machines share one
            PostgreSQL queue (each with the same workflows.key).
            """)
    @OptionGroup var location: WorkflowLocation
    @Option(
        help: NumericFlag.help("Seconds a run stays this worker's without a heartbeat.", 0.2...3600),
        transform: NumericFlag.number(0.2...3600))
    var lease: Double = 2
    @Option(help: "This worker's name in leases (default: random).") var name: String?
    @Option(
        help: NumericFlag.help("Runs this worker executes at once; the rest wait for it or another worker.", 1...100_000),
        transform: NumericFlag.integer(1...100_000))
    var concurrency: Int = 64
    @Option(help: ArgumentHelp("MCP servers for mcp steps and mcp_resource triggers, started once, sandboxed.", valueName: "file"))
    var mcpConfig: String = MCPServerConfiguration.defaultFile
    @Option(
        help: ArgumentHelp(
            "Groups whose runs this worker takes, comma-separated (default: every group of its user store).", valueName: "groups"),
        transform: { text in
            let groups = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for group in groups {
                do throws(SecurityError) { try PrincipalStore.checkName(group) } catch { throw ValidationError(error.description) }
            }
            return groups
        })
    var groups: [String]?

    mutating func run() async throws {
        let store = try location.store()
        let engine: WorkflowEngine
        let toolbox = await Toolbox.load(mcpFile: mcpConfig)
        for problem in toolbox.problems { Terminal.error("warning: \(problem)\n") }
        defer { Task { await toolbox.shutdown() } }
        let tools = ToolAdapter.adapting(toolbox.tools)
        let kernel = Kernel(try .standard(processor: nil, tools: tools, dataDirectory: location.security.directory))
        // No processor here: runs with agent steps are left to a daemon that serves them.
        engine = WorkflowEngine(
            store: store, actions: KernelStepActions(kernel: kernel), worker: name ?? "worker-\(getpid())-" + Hex.randomID().prefix(6),
            leaseSeconds: lease, maxConcurrentRuns: concurrency,
            serving: WorkflowEngine.serving(
                models: [], tools: tools.map(\.definition.name),
                groups: try groups.map(Set.init) ?? PrincipalStore.groupNames(dataDirectory: location.security.directory)))
        try DurableFile.write(Data("\(getpid())\n".utf8), to: URL(fileURLWithPath: location.workerPIDFile))
        let triggers = TriggerService(engine: engine, resources: MCPResourceWatcher(drivers: toolbox.drivers))
        Terminal.error("anima workflow worker \(engine.worker) on \(location.storeDescription) (pid \(getpid()))\n")
        let cron = Task { await triggers.run() }
        await engine.serve()
        cron.cancel()
    }
}
