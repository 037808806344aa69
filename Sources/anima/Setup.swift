import AnimaCommandSupport
import AnimaCore
import AnimaProcessor
import AnimaProviders
import AnimaServer
import ArgumentParser
import Foundation

struct Setup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Choose where Anima's processor runs: local, hybrid or cloud, and with which providers.",
        discussion: """
            On a terminal, without options, asks step by step. With options it changes only
            what they name, so it can be scripted. The configuration is in
            $ANIMA_CONFIG (default ~/.config/anima)/processors.json and holds no secrets.
            API keys are read from the provider's usual environment variable
            (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY), or stored sealed with
            AES-256-GCM in credentials.sealed under a key in the data directory's
            credentials.key (mode 0600; ~/.local/share/anima) or in $ANIMA_CREDENTIALS_KEY. Keys are never printed.

            Modes: local uses only this machine and never the network; hybrid lets the router
            choose per request; cloud sends public requests to cloud models. In every mode,
            requests labelled private, or with data of a protected group, stay local.

            Examples:
              anima setup
              anima setup --mode local
              anima setup --mode hybrid --provider openai --model gpt-4o-mini --model gpt-4.1
              printf '%s' "$KEY" | anima setup --provider anthropic --key-stdin
              anima setup --provider ollama --model llama3.2 --context 8192
              anima setup --provider openai-compatible --id vllm --url http://gpu-box:8000/v1 --model Qwen2.5-7B-Instruct
              anima setup --budget 5 --protect medical --protect finance
              anima setup --remove gemini
              anima setup --show
            """
    )

    @Option(help: ArgumentHelp("local, hybrid or cloud.", valueName: "mode"))
    var mode: ProcessorMode?

    @Option(
        help: ArgumentHelp("Add or change a provider: \(ProviderKind.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "kind")
    )
    var provider: ProviderKind?

    @Option(help: ArgumentHelp("The provider's name in Anima (default: its kind).", valueName: "name"))
    var id: String?

    @Option(help: ArgumentHelp("The provider's API root (default: the kind's usual one).", valueName: "url"))
    var url: String?

    @Option(
        help: ArgumentHelp(
            "Whether the provider's server is on this machine (local) or not (remote), for the privacy rule (default: local for loopback addresses).",
            valueName: "where"))
    var location: ProcessorLocation?

    @Option(name: .customLong("model"), help: ArgumentHelp("A model to use from the provider (repeatable).", valueName: "name"))
    var models: [String] = []

    @Option(
        help: NumericFlag.help(
            "Context length of the given models, when the catalog does not know them.", 16...100_000_000, valueName: "tokens"),
        transform: NumericFlag.integer(16...100_000_000))
    var context: Int?

    @Option(
        help: ArgumentHelp("Price of the given models: US dollars per million input and output tokens, as IN,OUT.", valueName: "in,out"))
    var price: String?

    @Option(help: ArgumentHelp("Read the provider's key from this environment variable.", valueName: "name"))
    var keyEnv: String?

    @Flag(help: "Read the provider's key from standard input and store it sealed.")
    var keyStdin = false

    @Option(help: ArgumentHelp("Remove a provider and its stored key.", valueName: "name"))
    var remove: String?

    @Option(
        help: NumericFlag.help(
            "The most the router may spend on paid models, in US dollars (0: none).", 0...1_000_000_000, valueName: "usd"),
        transform: NumericFlag.number(0...1_000_000_000))
    var budget: Double?

    @Flag(help: "Remove the spending limit.")
    var noBudget = false

    @Option(help: ArgumentHelp("A group whose data stays on this machine (repeatable; replaces the list).", valueName: "group"))
    var protect: [String] = []

    @Flag(help: "Print the configuration (never the keys).")
    var show = false

    var changesSomething: Bool {
        mode != nil || provider != nil || remove != nil || budget != nil || noBudget || !protect.isEmpty
    }

    func validate() throws {
        if provider == nil,
            id != nil || url != nil || location != nil || !models.isEmpty || context != nil || price != nil || keyEnv != nil || keyStdin
        {
            throw ValidationError("--id, --url, --location, --model, --context, --price, --key-env and --key-stdin need --provider")
        }
        if let context, context < 16 { throw ValidationError("--context must be at least 16 tokens") }
        if let budget, !(budget >= 0) { throw ValidationError("--budget cannot be negative") }
        if price != nil, (try? Self.parsePrice(price!)) == nil {
            throw ValidationError("--price takes two numbers, IN,OUT, such as 0.15,0.60")
        }
        if keyStdin, keyEnv != nil { throw ValidationError("give the key either with --key-stdin or with --key-env") }
    }

    mutating func run() async throws {
        var configuration = try ProcessorConfiguration.load(from: AnimaPaths.processors)
        let store = try AnimaPaths.credentialStore()
        if !changesSomething && !show {
            try interview(&configuration, store: store)
        } else {
            try apply(&configuration, store: store)
        }
        if changesSomething || !show {
            try configuration.save(to: AnimaPaths.processors)
            Terminal.error("Saved \(AnimaPaths.processors.path)\n")
        }
        print(try Self.summary(configuration, store: store))
    }

    // MARK: - Options

    private func apply(_ configuration: inout ProcessorConfiguration, store: CredentialStore) throws {
        if let mode { configuration.mode = mode }
        if let remove {
            let before = configuration.providers.count
            configuration.providers.removeAll { $0.id == remove }
            let hadKey = try store.remove(provider: remove)
            if before == configuration.providers.count, !hadKey { throw CLIError("no provider is called \(remove)") }
        }
        if let kind = provider {
            let name = id ?? kind.rawValue
            var endpoint = configuration.providers.first { $0.id == name } ?? ProviderEndpoint(id: name, kind: kind)
            guard endpoint.kind == kind else {
                throw CLIError("\(name) is a \(endpoint.kind) provider; remove it first or choose another --id")
            }
            if let url { endpoint.baseURL = url }
            if let location { endpoint.location = location }
            if let keyEnv { endpoint.credentialVariable = keyEnv }
            let names = models.isEmpty && endpoint.models.isEmpty ? [kind.suggestedModel] : models
            let priced = try price.map(Self.parsePrice)
            for name in names {
                var model = endpoint.models.first { $0.name == name } ?? RemoteModel(name: name)
                if let context { model.contextLength = context }
                if let priced { model.price = priced }
                endpoint.models.removeAll { $0.name == name }
                endpoint.models.append(model)
            }
            try endpoint.validate()
            if keyStdin {
                let key = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                try store.store(ProviderCredential(provider: name, secret: key))
            }
            configuration.providers.removeAll { $0.id == name }
            configuration.providers.append(endpoint)
        }
        if noBudget { configuration.budget = nil }
        if let budget { configuration.budget = budget == 0 ? nil : budget }
        if !protect.isEmpty { configuration.protectedGroups = protect.filter { !$0.isEmpty } }
    }

    static func parsePrice(_ text: String) throws -> ModelPrice {
        let parts = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let input = parts[0], let output = parts[1], input >= 0, output >= 0 else {
            throw ValidationError("--price takes two numbers, IN,OUT")
        }
        return ModelPrice(inputPerMillion: input, outputPerMillion: output)
    }

    // MARK: - Questions

    /// Asks on standard error and reads answers from standard input, so that it also
    /// works with answers piped in.
    private func interview(_ configuration: inout ProcessorConfiguration, store: CredentialStore) throws {
        Terminal.error(
            """
            Where may Anima's processor run?
              1) local  - only models on this machine; nothing leaves it
              2) hybrid - a router chooses per request; private data stays local
              3) cloud  - public requests go to cloud models; private data still stays local

            """)
        let modes: [ProcessorMode] = [.local, .hybrid, .cloud]
        let current = modes.firstIndex(of: configuration.mode).map { $0 + 1 } ?? 1
        while true {
            let answer = ask("Mode [\(current)]: ")
            if answer.isEmpty { break }
            if let n = Int(answer), (1...3).contains(n) { configuration.mode = modes[n - 1]; break }
            if let mode = ProcessorMode(rawValue: answer.lowercased()) { configuration.mode = mode; break }
            Terminal.error("Answer 1, 2 or 3.\n")
        }
        if configuration.mode != .local {
            for kind in [ProviderKind.openAI, .anthropic, .gemini, .ollama, .openAICompatible] {
                let existing = configuration.providers.first { $0.kind == kind }
                let answer = ask("Use \(Self.title(kind))? [\(existing == nil ? "y/N" : "Y/n")]: ").lowercased()
                let yes = answer.isEmpty ? existing != nil : answer.hasPrefix("y")
                guard yes else {
                    if let existing { configuration.providers.removeAll { $0.id == existing.id } }
                    continue
                }
                var endpoint = existing ?? ProviderEndpoint(id: kind.rawValue, kind: kind)
                if kind == .openAICompatible || kind == .ollama {
                    let url = ask("  API root [\(endpoint.baseURL)]: ")
                    if !url.isEmpty { endpoint.baseURL = url }
                }
                let suggested = endpoint.models.map(\.name).joined(separator: ",").nonEmpty ?? kind.suggestedModel
                let names = ask("  Models, comma-separated [\(suggested)]: ").nonEmpty ?? suggested
                endpoint.models = names.split(separator: ",").map { name in
                    let name = name.trimmingCharacters(in: .whitespaces)
                    return endpoint.models.first { $0.name == name } ?? RemoteModel(name: name)
                }
                if kind.requiresCredential {
                    let variable = endpoint.resolvedCredentialVariable ?? ""
                    let key = askSecret("  API key (hidden; empty to read $\(variable) when Anima runs): ")
                    if !key.isEmpty { try store.store(ProviderCredential(provider: endpoint.id, secret: key)) }
                }
                try endpoint.validate()
                configuration.providers.removeAll { $0.id == endpoint.id }
                configuration.providers.append(endpoint)
            }
            let budget = ask("Spending limit in US dollars [\(configuration.budget.map { String($0) } ?? "none")]: ")
            if let value = Double(budget), value >= 0 { configuration.budget = value == 0 ? nil : value }
        }
        let groups = ask(
            "Groups whose data stays on this machine, comma-separated [\(configuration.protectedGroups.joined(separator: ","))]: ")
        if !groups.isEmpty {
            configuration.protectedGroups = groups.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
        }
    }

    private func ask(_ prompt: String) -> String {
        Terminal.error(prompt)
        return (readLine() ?? "").trimmingCharacters(in: .whitespaces)
    }

    /// Reads a line with the terminal's echo off, so the key is not shown.
    private func askSecret(_ prompt: String) -> String {
        Terminal.error(prompt)
        var saved = termios()
        let isTerminal = tcgetattr(0, &saved) == 0
        if isTerminal {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSAFLUSH, &quiet)
        }
        let line = readLine() ?? ""
        if isTerminal {
            tcsetattr(0, TCSAFLUSH, &saved)
            Terminal.error("\n")
        }
        return line.trimmingCharacters(in: .whitespaces)
    }

    static func title(_ kind: ProviderKind) -> String {
        switch kind {
        case .openAI: "OpenAI"
        case .anthropic: "Anthropic"
        case .gemini: "Google Gemini"
        case .ollama: "Ollama (native API)"
        case .openAICompatible: "an OpenAI-compatible server (vLLM, llama.cpp, LM Studio)"
        }
    }

    // MARK: - Summary

    static func summary(_ configuration: ProcessorConfiguration, store: CredentialStore) throws -> String {
        var lines = ["mode: \(configuration.mode)"]
        lines.append("budget: " + (configuration.budget.map { String(format: "$%.2f", $0) } ?? "none"))
        lines.append(
            "protected groups: " + (configuration.protectedGroups.isEmpty ? "none" : configuration.protectedGroups.joined(separator: ", ")))
        let stored = Set((try? store.providers()) ?? [])
        for endpoint in configuration.providers {
            lines.append("provider \(endpoint.id) (\(endpoint.kind), \(endpoint.resolvedLocation)) \(endpoint.baseURL)")
            lines.append("  key: " + keyStatus(endpoint, stored: stored))
            if configuration.mode == .local, endpoint.resolvedLocation == .remote { lines.append("  not used in local mode") }
            for model in endpoint.models {
                let capabilities = model.capabilities(kind: endpoint.kind)
                let price = model.resolvedPrice(kind: endpoint.kind).map(\.description) ?? "price unknown (set it with --price)"
                lines.append("  model \(model.name): \(capabilities.contextLength) tokens, \(price)")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func keyStatus(_ endpoint: ProviderEndpoint, stored: Set<String>) -> String {
        if let variable = endpoint.resolvedCredentialVariable, ProcessInfo.processInfo.environment[variable]?.isEmpty == false {
            return "from $\(variable)"
        }
        if stored.contains(endpoint.id) { return "stored, sealed" }
        if !endpoint.kind.requiresCredential { return "none needed" }
        return "missing: set $\(endpoint.resolvedCredentialVariable ?? "…") or run `anima setup --provider \(endpoint.kind) --key-stdin`"
    }
}

extension String {
    fileprivate var nonEmpty: String? { isEmpty ? nil : self }
}

extension ProcessorMode: ExpressibleByArgument {}
extension ProviderKind: ExpressibleByArgument {}
extension ProcessorLocation: ExpressibleByArgument {}
