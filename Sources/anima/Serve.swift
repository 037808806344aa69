import AnimaCore
import AnimaKernel
import AnimaProcessor
import AnimaServer
import AnimaTools
import ArgumentParser
import Foundation

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Anima daemon: OpenAI-compatible and native HTTP APIs.",
        discussion: """
            Listens on 127.0.0.1:8420 by default. Settings come from the config file
            ($XDG_CONFIG_HOME/anima/config.toml), then ANIMA_* environment variables, then
            these flags. Every route but /health needs a bearer token: create one with
            `anima token create`. SIGTERM or Ctrl-C shuts down gracefully.

            Tool calls and answers pass the security policy in the data directory's
            policy.json (see contrib/security/policy.json). Streamed answers pass the output
            guard before they leave: text is held back briefly while it is scanned, redacted
            where the policy redacts, and a blocked finding ends the stream with an error event.

            Examples:
              anima serve
              anima serve --port 9000 --slots 8 --policy priority
              anima serve --tls-certificate cert.pem --tls-key key.pem --host 0.0.0.0
              anima serve --tools calculator,python
              ANIMA_PORT=9000 anima serve --config /etc/anima/config.toml
            """
    )

    @Option(help: "Config file (default: $XDG_CONFIG_HOME/anima/config.toml).")
    var config: String?
    @Option(help: "Address to listen on.") var host: String?
    @Option(help: NumericFlag.help("Port to listen on (0: any free port).", 0...65535), transform: NumericFlag.integer(0...65535)) var port: Int?
    @Option(help: "Chat model (GGUF).") var model: String?
    @Option(help: "Embedding model (GGUF) for /v1/embeddings.") var embeddingModel: String?
    @Option(help: "Data directory (tokens, state).") var dataDir: String?
    @Option(help: NumericFlag.help("Generations that decode together.", 1...LlamaEngine.maxSlots), transform: NumericFlag.integer(1...LlamaEngine.maxSlots)) var slots: Int?
    @Option(help: NumericFlag.help("Tokens per generation, prompt and answer.", 16...1_048_576), transform: NumericFlag.integer(16...1_048_576)) var context: Int?
    @Option(help: "Scheduling policy: fifo, rr or priority.") var policy: String?
    @Option(help: NumericFlag.help("Round-robin time slice in tokens.", 1...1_000_000), transform: NumericFlag.integer(1...1_000_000)) var quantum: Int?
    @Option(help: "TLS certificate (PEM).") var tlsCertificate: String?
    @Option(help: "TLS private key (PEM).") var tlsKey: String?
    @Option(help: NumericFlag.help("Largest request body, in bytes.", 1024...(1 << 30)), transform: NumericFlag.integer(1024...(1 << 30))) var maxRequestBytes: Int?
    @Option(help: NumericFlag.help("Requests per minute per token.", 1...1_000_000), transform: NumericFlag.integer(1...1_000_000)) var requestsPerMinute: Int?
    @Option(help: NumericFlag.help("Requests in flight per token.", 1...100_000), transform: NumericFlag.integer(1...100_000)) var maxConcurrentRequests: Int?
    @Option(help: NumericFlag.help("Seconds a new connection may take to send a request header.", 1...3600), transform: NumericFlag.integer(1...3600)) var requestHeaderTimeout: Int?
    @Option(help: NumericFlag.help("Seconds an idle connection stays open.", 1...86_400), transform: NumericFlag.integer(1...86_400)) var idleTimeout: Int?
    @Option(help: NumericFlag.help("Connections open at once; more are closed as they arrive.", 1...1_000_000), transform: NumericFlag.integer(1...1_000_000)) var maxConnections: Int?
    @Option(help: NumericFlag.help("Seconds in-flight requests may finish after SIGTERM before they are cancelled.", 0...3600), transform: NumericFlag.integer(0...3600)) var shutdownGrace: Int?
    @Option(help: ArgumentHelp("Built-in tools agents may call, comma-separated (see `anima tools`); none by default.", valueName: "names"))
    var tools: String?
    @Flag(help: "Serve a scripted echo model instead of a real one (for load tests).") var scripted = false
    @Option(help: NumericFlag.help("Milliseconds the scripted model spends on each token.", 0...60_000), transform: NumericFlag.integer(0...60_000)) var scriptedDelayMs = 0

    func configuration() throws -> ServerConfiguration {
        var c = try ServerConfiguration.load(file: config)
        let flags: [(String, String?)] = [
            ("host", host), ("port", port.map(String.init)), ("model", model), ("embedding_model", embeddingModel),
            ("data_dir", dataDir), ("slots", slots.map(String.init)), ("context", context.map(String.init)), ("policy", policy),
            ("quantum", quantum.map(String.init)), ("tls_certificate", tlsCertificate), ("tls_key", tlsKey),
            ("max_request_bytes", maxRequestBytes.map(String.init)), ("requests_per_minute", requestsPerMinute.map(String.init)),
            ("max_concurrent_requests", maxConcurrentRequests.map(String.init)), ("scripted", scripted ? "true" : nil),
            ("request_header_timeout", requestHeaderTimeout.map(String.init)), ("idle_timeout", idleTimeout.map(String.init)),
            ("max_connections", maxConnections.map(String.init)), ("shutdown_grace", shutdownGrace.map(String.init)), ("tools", tools),
        ]
        for (key, value) in flags { if let value { try c.set(key, value, source: "--\(key.replacingOccurrences(of: "_", with: "-"))") } }
        try c.check()
        let known = Toolbox.builtins().map(\.name)
        if let unknown = c.tools.first(where: { !known.contains($0) }) {
            throw ValidationError("tools: no built-in tool \"\(unknown)\"; choose from \(known.sorted().joined(separator: ", "))")
        }
        return c
    }

    mutating func run() async throws {
        let c = try configuration()
        AnimaDirectories.use(data: c.dataDirectory)  // from --data-dir, $ANIMA_DATA_DIR or data_dir: hidden from sandboxes
        let policy: any SlotPolicy = switch c.policy {
        case "fifo": FIFOPolicy()
        case "priority": PriorityPolicy()
        default: RoundRobinPolicy(quantum: c.quantum)
        }
        var engine: LlamaEngine?
        let processor: any LanguageModel
        if c.scripted {
            let scripted = ScriptedProcessor(slots: c.slots, policy: policy, name: "scripted") { request in
                .text("You said: " + (request.rawPrompt ?? request.messages.last?.content ?? ""))
            }
            let delay = scriptedDelayMs
            var pause: (@Sendable () async -> Void)?
            if delay > 0 { pause = { try? await Task.sleep(for: .milliseconds(delay)) } }
            scripted.startStepping(onStep: pause)
            processor = try ConfiguredProcessor.processor(scripted: scripted)
        } else {
            let path = c.model.map { ($0 as NSString).expandingTildeInPath } ?? AnimaPaths.defaultModel
            let loaded = try await ModelOptions.loadEngine(path: path, context: c.context, slots: c.slots, policy: policy)
            engine = loaded
            // With providers configured every generation goes through the router; the engine
            // still feeds the metrics and /proc with its slots and queue.
            processor = try ConfiguredProcessor.processor(local: .local(loaded))
        }
        var embedder: (any EmbeddingModel)?
        let embeddingPath = c.embeddingModel ?? AnimaPaths.models.appendingPathComponent("all-MiniLM-L6-v2.F16.gguf").path
        if !c.scripted, FileManager.default.fileExists(atPath: embeddingPath) {
            embedder = try await LlamaEmbedder.load(.init(modelPath: embeddingPath))
        } else if c.embeddingModel != nil {
            throw ProcessorError.modelNotFound(path: embeddingPath)
        }
        let memory = try await MemoryLocation.open(URL(fileURLWithPath: c.dataDirectory), embedder: embedder)
        let tools = ToolAdapter.adapting(Toolbox.builtins().filter { c.tools.contains($0.name) })
        let daemon = try Daemon(configuration: c, processor: processor, engine: engine, embedder: embedder, tools: tools, memory: memory)
        let procfs = Task { await ProcFS().serve(daemon.kernel, engine: engine, policy: c.policy) }
        defer { procfs.cancel() }
        let scheme = c.tlsCertificate == nil ? "http" : "https"
        if try await daemon.tokens.revokeLegacyCLITokens() > 0 {
            Terminal.error("revoked the all-scopes local-cli token an older anima serve left behind; the CLI now makes its own short-lived tokens\n")
        }
        let app = try daemon.application { port in
            let host = c.host == "0.0.0.0" ? "127.0.0.1" : c.host
            try? DaemonClient.publish(.init(pid: getpid(), url: "\(scheme)://\(host):\(port)", dataDirectory: URL(fileURLWithPath: c.dataDirectory).standardizedFileURL.path))
            let serving = (processor as? ProcessorRouter).map { r in
                "\(r.policy.mode) router over \(r.candidates.map(\.id).joined(separator: ", "))"
            } ?? processor.info.name
            Terminal.error("anima serving \(serving) on \(scheme)://\(c.host):\(port) (pid \(getpid()))\n")
        }
        defer { DaemonClient.remove() }
        // The daemon never writes the token store: `anima token` and the CLI do, and the
        // daemon re-reads the file when it changes.
        try await app.runService()
        Terminal.error("anima stopped\n")
    }
}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and revoke API tokens.",
        discussion: """
            A token acts as a user with groups, limited to scopes: \(Scope.allCases.map(\.rawValue).joined(separator: ", ")).
            Only its hash is stored; the secret is shown once, when it is created. Tokens
            expire after 90 days unless --expires says otherwise. Changes reach a running
            daemon at its next request.

            Examples:
              anima token create --name laptop --scope chat --scope agents
              anima token create --name ci --scope chat --expires 12h
              anima token create --name service --expires never
              anima token create --user alice --group users --group net --scope chat
              anima token list
              anima token revoke 3fa1c2d4e5b6
            """,
        subcommands: [TokenCreate.self, TokenList.self, TokenRevoke.self]
    )
}

struct DataDirectoryOption: ParsableArguments {
    @Option(help: "Data directory (default: $XDG_DATA_HOME/anima).") var dataDir: String?
    func store() throws -> TokenStore {
        try TokenStore(directory: URL(fileURLWithPath: dataDir.map { ($0 as NSString).expandingTildeInPath } ?? AnimaDirectories.data()))
    }

    /// A chosen data directory is hidden from sandboxes (MCP servers) like the default one.
    func validate() throws {
        if let dataDir { AnimaDirectories.use(data: dataDir) }
    }
}

extension Scope: ExpressibleByArgument {}

struct TokenCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a token and print its secret once.")
    @Option(help: "A name to recognise it by.") var name = "token"
    @Option(help: "The user it acts as (default: you).") var user: String?
    @Option(help: "A group the user holds (repeatable).") var group: [String] = ["users"]
    @Option(help: "A scope it grants (repeatable; default: all).") var scope: [Scope] = []
    @Option(help: "When it stops working: a lifetime such as 30m, 12h or 90d, or `never`.") var expires = "90d"
    @OptionGroup var data: DataDirectoryOption

    mutating func validate() throws {
        _ = try Self.lifetime(expires)
    }

    /// Seconds from "30m", "12h", "90d" (or plain seconds); nil for "never".
    static func lifetime(_ text: String) throws -> TimeInterval? {
        let text = text.trimmingCharacters(in: .whitespaces).lowercased()
        if text == "never" { return nil }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        let unit = text.last.flatMap { units[$0] }
        let digits = unit == nil ? Substring(text) : text.dropLast()
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), digits.count <= 7, let n = Double(digits), n > 0 else {
            throw ValidationError("--expires \(text) is not a lifetime; give a number with s, m, h or d (e.g. 90d), or `never`")
        }
        return n * (unit ?? 1)
    }

    mutating func run() async throws {
        let store = try data.store()
        let (secret, token) = try await store.create(
            name: name, user: user ?? NSUserName(), groups: group, scopes: scope.isEmpty ? Scope.allCases : scope,
            expires: try Self.lifetime(expires).map { Date().addingTimeInterval($0) })
        print(secret)
        let until = token.expires.map { "expires \(ISO8601DateFormatter().string(from: $0))" } ?? "never expires"
        Terminal.error("token \(token.id) for \(token.user), scopes \(token.scopes.map(\.rawValue).joined(separator: ",")), \(until); keep the secret, it is not stored\n")
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

struct TokenList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List tokens (never their secrets).")
    @OptionGroup var data: DataDirectoryOption

    mutating func run() async throws {
        for t in try await data.store().list() {
            let state = t.revoked != nil ? "revoked" : t.isExpired() ? "expired" : "active"
            let until = t.expires.map { ISO8601DateFormatter().string(from: $0) } ?? "never"
            print("\(t.id)  \(state.padding(toLength: 8, withPad: " ", startingAt: 0))\(t.user.padding(toLength: 10, withPad: " ", startingAt: 0))\(t.scopes.map(\.rawValue).joined(separator: ","))  \(t.name)  expires \(until)")
        }
    }
}

struct TokenRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a token; it stops working at once.")
    @Argument(help: "The token id, as `anima token list` shows it.") var id: String
    @OptionGroup var data: DataDirectoryOption

    mutating func run() async throws {
        try await data.store().revoke(id: id)
        print("revoked \(id)")
    }
}

struct MCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve Anima as an MCP server over standard input and output.",
        discussion: """
            For MCP clients that start their servers as commands. Tools: run_agent,
            list_processes, memory_write, memory_read, memory_list, memory_search,
            and the built-in tools named by --tools, all acting as the current user. Over HTTP, `anima serve` offers the same at /mcp.

            Example (in an MCP client's configuration):
              {"command": "anima", "args": ["mcp", "--tools", "calculator"]}
            """
    )

    @Flag(help: "Use a scripted echo model instead of a real one (for tests).") var scripted = false
    @OptionGroup var kernelOptions: KernelOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var memoryLocation: MemoryLocation

    mutating func run() async throws {
        let memory = try await memoryLocation.open(embeddings: !scripted)
        let processor: any LanguageModel
        if scripted {
            let echo = ScriptedProcessor(slots: kernelOptions.slots, policy: kernelOptions.slotPolicy) { request in
                .text("You said: " + (request.messages.last?.content ?? ""))
            }
            echo.startStepping()
            processor = try ConfiguredProcessor.processor(scripted: echo)
        } else {
            let engine = try await modelOptions.load(slots: kernelOptions.slots, policy: kernelOptions.slotPolicy)
            processor = try ConfiguredProcessor.processor(local: .local(engine))
        }
        let kernel = Kernel(try .standard(
            processor: processor, tools: kernelOptions.systemTools, memory: memory, dataDirectory: memoryLocation.directory.path))
        try await MCPEndpoint(kernel: kernel).runStdio(as: CurrentUser.principal)
    }
}
