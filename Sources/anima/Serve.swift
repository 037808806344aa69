import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaLlama
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
              anima serve --models qwen2.5-coder-0.5b --max-models 2   # a request's "model" picks one
              ANIMA_PORT=9000 anima serve --config /etc/anima/config.toml
            """
    )

    @OptionGroup var options: DaemonOptions

    mutating func run() async throws {
        let c = try options.configuration()
        AnimaDirectories.use(data: c.dataDirectory)  // from --data-dir, $ANIMA_DATA_DIR or data_dir: hidden from sandboxes
        guard !c.scripted else {
            throw ValidationError(
                "scripted = true (from the config file or the environment) asks for the scripted echo model, which anima serve does not ship; run `anima-bench serve --scripted` for load tests, or remove the setting"
            )
        }
        let scheduler = DaemonOptions.scheduler(c)
        let path = c.model.map { ($0 as NSString).expandingTildeInPath } ?? AnimaPaths.defaultModel
        let engine: LlamaEngine?
        let processor: any LanguageModel
        if c.models.isEmpty {
            let loaded = try await ModelOptions.loadEngine(
                path: path, context: c.context, slots: c.slots, scheduler: scheduler, gpuLayers: c.gpuLayers, tuned: c.tune)
            engine = loaded
            // With providers configured every generation goes through the router; the engine
            // still feeds the metrics and /proc with its slots and queue.
            processor = try ConfiguredProcessor.processor(local: .local(loaded))
        } else {
            // Several models, loaded as requests name them: no one engine feeds the metrics.
            let pool = try ResidentModels.engines(
                paths: [path] + c.models.map(ModelDefaults.resolve), maxModels: c.maxModels,
                memoryBudget: c.modelMemoryMiB.map { $0 << 20 }, context: c.context, slots: c.slots, scheduler: scheduler)
            engine = nil
            processor = try ConfiguredProcessor.processor(
                local: RouteCandidate(
                    id: "local/\(pool.info.name)", processor: pool, location: .local,
                    capabilities: ModelCapabilities(contextLength: pool.info.contextLength), price: .free))
        }
        var embedder: (any EmbeddingModel)?
        let embeddingPath = c.embeddingModel ?? AnimaPaths.defaultEmbedder
        if FileManager.default.fileExists(atPath: embeddingPath) {
            embedder = try await LlamaEmbedder.load(.init(modelPath: embeddingPath))
        } else if c.embeddingModel != nil {
            throw ProcessorError.modelNotFound(path: embeddingPath)
        }
        // Voice (issue 23): Whisper and espeak-ng for /v1/audio, each when installed.
        let speech = await SpeechEngines.services()
        try await DaemonOptions.serve(c, processor: processor, engine: engine, embedder: embedder, mcpFile: options.mcpConfig, speech: speech)
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
        Terminal.error(
            "token \(token.id) for \(token.user), scopes \(token.scopes.map(\.rawValue).joined(separator: ",")), \(until); keep the secret, it is not stored\n"
        )
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
            print(
                "\(t.id)  \(state.padding(toLength: 8, withPad: " ", startingAt: 0))\(t.user.padding(toLength: 10, withPad: " ", startingAt: 0))\(t.scopes.map(\.rawValue).joined(separator: ","))  \(t.name)  expires \(until)"
            )
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
            memory_insert, and the tools named by --tools (built-ins, and MCP tools of mcp.json
            by full name, server or glob), all acting as the current user. Over HTTP, `anima
            serve` offers the same at /mcp.

            Example (in an MCP client's configuration):
              {"command": "anima", "args": ["mcp", "--tools", "calculator,mail"]}
            """
    )

    @OptionGroup var kernelOptions: KernelOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var memoryLocation: MemoryLocation

    mutating func run() async throws {
        let memory = try await memoryLocation.open(embeddings: true)
        let engine = try await modelOptions.load(slots: kernelOptions.slots, scheduler: kernelOptions.scheduler)
        try await MCPStdio.serve(
            processor: try ConfiguredProcessor.processor(local: .local(engine)), memory: memory, kernelOptions: kernelOptions,
            memoryLocation: memoryLocation)
    }
}
