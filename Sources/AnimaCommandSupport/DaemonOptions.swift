import AnimaCore
import AnimaKernel
import AnimaLlama
import AnimaProcessor
import AnimaServer
import AnimaTools
import AnimaWeb
import ArgumentParser
import Foundation

/// The daemon's flags, and the daemon itself run on a given processor: `anima serve`
/// serves a real model with them, `anima-bench serve --scripted` the echo model for load
/// tests, so the two cannot drift apart.
package struct DaemonOptions: ParsableArguments {
    @Option(help: "Config file (default: $XDG_CONFIG_HOME/anima/config.toml).")
    package var config: String?
    @Option(help: "Address to listen on.") package var host: String?
    @Option(help: NumericFlag.help("Port to listen on (0: any free port).", 0...65535), transform: NumericFlag.integer(0...65535)) package
        var port: Int?
    @Option(help: "Chat model (GGUF).") package var model: String?
    @Option(help: "Embedding model (GGUF) for /v1/embeddings.") package var embeddingModel: String?
    @Option(help: "Data directory (tokens, state).") package var dataDir: String?
    @Option(
        help: NumericFlag.help("Generations that decode together.", 1...LlamaEngine.maxSlots),
        transform: NumericFlag.integer(1...LlamaEngine.maxSlots)) package var slots: Int?
    @Option(
        help: NumericFlag.help("Tokens per generation, prompt and answer.", 16...1_048_576), transform: NumericFlag.integer(16...1_048_576))
    package var context: Int?
    @Option(help: ModelOptions.gpuLayersHelp, transform: NumericFlag.integer(0...100_000)) package var gpuLayers: Int?
    @Option(help: "Scheduling policy: fifo, rr or priority.") package var policy: String?
    @Option(help: NumericFlag.help("Round-robin time slice in tokens.", 1...1_000_000), transform: NumericFlag.integer(1...1_000_000))
    package var quantum: Int?
    @Flag(help: KernelOptions.tuneHelp) package var tune = false
    @Option(help: "TLS certificate (PEM).") package var tlsCertificate: String?
    @Option(help: "TLS private key (PEM).") package var tlsKey: String?
    @Option(help: NumericFlag.help("Largest request body, in bytes.", 1024...(1 << 30)), transform: NumericFlag.integer(1024...(1 << 30)))
    package var maxRequestBytes: Int?
    @Option(help: NumericFlag.help("Requests per minute per token.", 1...1_000_000), transform: NumericFlag.integer(1...1_000_000)) package
        var requestsPerMinute: Int?
    @Option(help: NumericFlag.help("Requests in flight per token.", 1...100_000), transform: NumericFlag.integer(1...100_000)) package
        var maxConcurrentRequests: Int?
    @Option(
        help: NumericFlag.help("Seconds a new connection may take to send a request header.", 1...3600),
        transform: NumericFlag.integer(1...3600)) package var requestHeaderTimeout: Int?
    @Option(help: NumericFlag.help("Seconds an idle connection stays open.", 1...86_400), transform: NumericFlag.integer(1...86_400))
    package var idleTimeout: Int?
    @Option(
        help: NumericFlag.help("Connections open at once; more are closed as they arrive.", 1...1_000_000),
        transform: NumericFlag.integer(1...1_000_000)) package var maxConnections: Int?
    @Option(
        help: NumericFlag.help("Seconds in-flight requests may finish after SIGTERM before they are cancelled.", 0...3600),
        transform: NumericFlag.integer(0...3600)) package var shutdownGrace: Int?
    @Option(
        help: ArgumentHelp(
            "Tools agents may call, comma-separated: built-in names, MCP tools by full name, server or glob; by default every built-in and every tool of mcp.json.",
            valueName: "names"))
    package var tools: String?
    @Option(
        help: NumericFlag.help("Seconds an agent's tool call waits for a person's yes before it is denied.", 1...86_400),
        transform: NumericFlag.integer(1...86_400)) package var approvalTimeout: Int?
    @Option(
        help: ArgumentHelp(
            "More chat models to serve, comma-separated (catalogue names or GGUF paths); a request picks one by its model field.",
            valueName: "models"))
    package var models: String?
    @Option(
        help: NumericFlag.help("Chat models resident at once; the least recently used is unloaded.", 1...64),
        transform: NumericFlag.integer(1...64))
    package var maxModels: Int?
    @Option(
        help: NumericFlag.help("MiB the resident chat models may take together.", 1...(1 << 24), valueName: "MiB"),
        transform: NumericFlag.integer(1...(1 << 24)))
    package var modelMemory: Int?
    @Option(help: ArgumentHelp("MCP server configuration whose servers the daemon starts once, sandboxed.", valueName: "file"))
    package var mcpConfig: String = MCPServerConfiguration.defaultFile
    @Option(
        help: ArgumentHelp(
            "A PostgreSQL run queue shared with other daemons (default: SQLite in the data directory).", valueName: "postgres://..."))
    package var workflowDatabase: String?
    @Option(
        help: NumericFlag.help("Seconds a workflow run stays this daemon's without a heartbeat; another daemon takes it over after.", 1...3600),
        transform: NumericFlag.integer(1...3600))
    package var workflowLeaseSeconds: Int?
    @Option(
        help: ArgumentHelp(
            "Groups whose runs this daemon takes from a shared queue, comma-separated (default: every group of its user store).",
            valueName: "groups"))
    package var workflowGroups: String?
    @Option(help: ArgumentHelp("The host name people reach the web console by, for passkeys (default: localhost).", valueName: "host"))
    package var webRpId: String?
    @Option(help: ArgumentHelp("More origins the web console accepts, comma-separated (a reverse proxy's).", valueName: "origins"))
    package var webOrigins: String?

    package init() {}

    /// The config file, then ANIMA_* variables, then these flags; `scripted` sets the
    /// configuration's `scripted` as `--scripted` does.
    package func configuration(scripted: Bool = false) throws -> ServerConfiguration {
        var c = try ServerConfiguration.load(file: config)
        let flags: [(String, String?)] = [
            ("host", host), ("port", port.map(String.init)), ("model", model), ("embedding_model", embeddingModel),
            ("data_dir", dataDir), ("slots", slots.map(String.init)), ("context", context.map(String.init)),
            ("gpu_layers", gpuLayers.map(String.init)), ("policy", policy),
            ("quantum", quantum.map(String.init)), ("tune", tune ? "true" : nil), ("tls_certificate", tlsCertificate), ("tls_key", tlsKey),
            ("max_request_bytes", maxRequestBytes.map(String.init)), ("requests_per_minute", requestsPerMinute.map(String.init)),
            ("max_concurrent_requests", maxConcurrentRequests.map(String.init)), ("scripted", scripted ? "true" : nil),
            ("request_header_timeout", requestHeaderTimeout.map(String.init)), ("idle_timeout", idleTimeout.map(String.init)),
            ("max_connections", maxConnections.map(String.init)), ("shutdown_grace", shutdownGrace.map(String.init)), ("tools", tools),
            ("approval_timeout", approvalTimeout.map(String.init)),
            ("workflow_database", workflowDatabase), ("workflow_lease_seconds", workflowLeaseSeconds.map(String.init)),
            ("workflow_groups", workflowGroups),
            ("models", models), ("max_models", maxModels.map(String.init)), ("model_memory_mib", modelMemory.map(String.init)),
            ("web_rp_id", webRpId), ("web_origins", webOrigins),
        ]
        for (key, value) in flags { if let value { try c.set(key, value, source: "--\(key.replacingOccurrences(of: "_", with: "-"))") } }
        try c.check()
        return c
    }

    /// The daemon's tools: every built-in and every tool of the servers in `mcpFile`, or
    /// what the configuration's `tools` selects of them. Servers that fail are reported
    /// on stderr and leave their tools out; a selector that chooses nothing is an error.
    /// The tool packages installed in the data directory are among them (issue 21), each
    /// verified before its server starts and callable only under what it was granted.
    package static func tools(_ c: ServerConfiguration, mcpFile: String) async throws -> Toolbox {
        let box = await Toolbox.load(
            mcpFile: mcpFile, extra: ToolPackages.servers(dataDirectory: URL(fileURLWithPath: c.dataDirectory)))
        for problem in box.problems { Terminal.error("warning: \(problem)\n") }
        guard !c.tools.isEmpty else { return box }
        do {
            return try await box.selecting(c.tools)
        } catch {
            throw ValidationError("tools: \(error)")
        }
    }

    /// The kernel's scheduler with the policy the configuration names.
    package static func scheduler(_ c: ServerConfiguration) -> Scheduler {
        switch c.policy {
        case "fifo": Scheduler(policy: FIFOPolicy())
        case "priority": Scheduler(policy: PriorityPolicy())
        default: Scheduler(policy: RoundRobinPolicy(quantum: c.quantum))
        }
    }

    /// Runs the daemon on `processor` until SIGTERM or Ctrl-C. `engine`, when the processor
    /// is (or routes to) the local engine, feeds the metrics and /proc with its slots and queue.
    /// - Parameter mcpFile: the MCP servers whose tools the daemon offers (started once, each in its sandbox).
    package static func serve(
        _ c: ServerConfiguration, processor: any LanguageModel, engine: LlamaEngine?, embedder: (any EmbeddingModel)?,
        mcpFile: String = MCPServerConfiguration.defaultFile, speech: SpeechServices? = nil
    ) async throws {
        var memory = try await MemoryLocation.open(URL(fileURLWithPath: c.dataDirectory), embedder: embedder)
        memory.configuration.pageInHistory = c.pageInHistory
        let toolbox = try await tools(c, mcpFile: mcpFile)
        defer { Task { await toolbox.shutdown() } }
        var composed = try Daemon(
            configuration: c, processor: processor, engine: engine, embedder: embedder, tools: ToolAdapter.adapting(toolbox.tools),
            memory: memory, resources: MCPResourceWatcher(drivers: toolbox.drivers))
        composed.speech = speech
        // The web console at / on the same port and TLS (issue 22).
        composed.console = try WebConsole.responder(
            kernel: composed.kernel, dataDirectory: URL(fileURLWithPath: c.dataDirectory), tls: c.tlsCertificate != nil,
            relyingPartyID: c.webRelyingPartyID, origins: c.webOrigins, tokens: ConsoleTokens(store: composed.tokens),
            metrics: { Daemon.metricsText() })
        let daemon = composed
        let tuner = c.tune ? engine.map { KernelOptions.tuner(engine: $0, kernel: daemon.kernel) } : nil
        let tuning = Task { await tuner?.run() }
        defer { tuning.cancel() }
        let procfs = Task {
            await ProcFS().serve(daemon.kernel, engine: engine, policy: c.policy, placement: engine?.offload.summary, tuner: tuner)
        }
        defer { procfs.cancel() }
        let scheme = c.tlsCertificate == nil ? "http" : "https"
        if try await daemon.tokens.revokeLegacyCLITokens() > 0 {
            Terminal.error(
                "revoked the all-scopes local-cli token an older anima serve left behind; the CLI now makes its own short-lived tokens\n")
        }
        let app = try daemon.application { port in
            let host = c.host == "0.0.0.0" ? "127.0.0.1" : c.host
            try? DaemonClient.publish(
                .init(
                    pid: getpid(), url: "\(scheme)://\(host):\(port)",
                    dataDirectory: URL(fileURLWithPath: c.dataDirectory).standardizedFileURL.path))
            let serving =
                processor.routing.map { r in
                    "\(r.policy.mode) router over \(r.candidates.map(\.id).joined(separator: ", "))"
                } ?? processor.info.name
            let cpu = LlamaEngine.cpuBackend.map { "; \($0)" } ?? ""
            let layers = engine.map { "; \($0.offload.summary)" } ?? ""
            Terminal.error("anima serving \(serving) on \(scheme)://\(c.host):\(port) (pid \(getpid())\(cpu)\(layers))\n")
        }
        defer { DaemonClient.remove() }
        // The daemon never writes the token store: `anima token` and the CLI do, and the
        // daemon re-reads the file when it changes.
        let stopped: (any Error)?
        do {
            try await app.runService()
            stopped = nil
        } catch {
            stopped = error
        }
        // SIGTERM, Ctrl-C or a failure: memory closes cleanly (index snapshots written, the
        // write-ahead log checkpointed into the database) and its lock is released.
        do { try await memory.store.close() } catch { Terminal.error("anima could not close memory cleanly: \(error)\n") }
        if let stopped { throw stopped }
        Terminal.error("anima stopped\n")
    }
}
