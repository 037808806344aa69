import AnimaCore
import AnimaSecurity
import Foundation

/// Everything `anima serve` needs to know, from (lowest to highest precedence) built-in
/// defaults, the TOML config file, `ANIMA_*` environment variables, and flags.
///
/// The config file is read when it exists (`--config` names one that must exist); it
/// holds top-level `key = value` settings only, parsed by `TOMLDocument`, and any error
/// in it stops start-up with its line and column.
public struct ServerConfiguration: Sendable, Hashable {
    public var host = "127.0.0.1"
    public var port = 8420
    /// The chat model; nil means the default model that setup installs.
    public var model: String?
    /// The embedding model for /v1/embeddings; nil means the default, if installed.
    public var embeddingModel: String?
    public var dataDirectory: String
    public var slots = 4
    public var context: Int?
    /// Layers of the chat model on GPUs: nil as many as fit, 0 none (`LlamaEngine.Configuration.gpuLayers`).
    public var gpuLayers: Int?
    /// fifo, rr or priority.
    public var policy = "rr"
    public var quantum = 32
    /// Let the kernel tune the engine's threads, batch, active slots and time slice from the live
    /// workload (`KernelTuner`; every decision in the audit log). The engine then holds KV
    /// room for twice `slots` (`KernelTuner.slots(active:limit:)`), `slots` of them active at first.
    public var tune = false
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// Largest request body accepted.
    public var maxRequestBytes = 1 << 20
    /// Requests each token may make per minute.
    public var requestsPerMinute = 600
    /// Requests each token may have in flight at once.
    public var maxConcurrentRequests = 16
    /// Serve a scripted echo model instead of a real one (load tests, CI without a model);
    /// only `anima-bench serve` honours it, `anima serve` refuses it.
    public var scripted = false
    /// Seconds a new connection may take to send a whole request header (slowloris).
    public var requestHeaderTimeout = 10
    /// Seconds a connection may sit idle between requests before it is closed.
    public var idleTimeout = 60
    /// Connections open at once; more are closed as they arrive.
    public var maxConnections = 1024
    /// Seconds in-flight requests get to finish after SIGTERM before they are cancelled.
    public var shutdownGrace = 10
    /// Tools agents may be given (built-in names, MCP full names, servers, globs; see
    /// `ToolSelection`); empty: every built-in and every tool of the MCP servers.
    public var tools: [String] = []
    /// Seconds a tool call of an agent waits for a person's yes before it is denied.
    public var approvalTimeout = 300
    /// The workflow run queue: nil keeps it in SQLite in the data directory; a
    /// `postgres://` URL shares one queue between daemons (see `PostgresWorkflowStore`).
    public var workflowDatabase: String?
    /// Seconds a workflow run stays this daemon's without a heartbeat (renewed every third
    /// of it): how soon another daemon takes over the runs of one that died.
    public var workflowLeaseSeconds = 10
    /// The groups whose runs this daemon leases from a shared queue (a machine without
    /// network leaves out `net`); nil: every group its user store defines.
    public var workflowGroups: [String]?
    /// More chat models the daemon serves besides `model` (catalogue names or GGUF paths),
    /// each loaded when a request names it (`ResidentModels`).
    public var models: [String] = []
    /// How many chat models may be resident at once; the least recently used goes first.
    public var maxModels = 1
    /// MiB the resident chat models may take together (their GGUF sizes); nil: no limit.
    public var modelMemoryMiB: Int?
    /// Page-in events each agent keeps (sealed, ids and scores only), newest; 0 keeps none.
    public var pageInHistory = 16
    /// The web console's passkey relying party: the host name people type (issue 22).
    public var webRelyingPartyID = "localhost"
    /// Origins the console accepts besides its own (a reverse proxy's), `scheme://host[:port]`.
    public var webOrigins: [String] = []

    public init(dataDirectory: String = ServerConfiguration.defaultDataDirectory) {
        self.dataDirectory = dataDirectory
    }

    /// `$XDG_DATA_HOME/anima`, else `~/.local/share/anima`.
    public static var defaultDataDirectory: String { AnimaDirectories.data() }

    /// `$XDG_CONFIG_HOME/anima/config.toml`, else `~/.config/anima/config.toml`.
    public static var defaultConfigFile: String { AnimaDirectories.config() + "/config.toml" }

    /// The keys the file and the environment understand (file key, environment variable).
    static let keys: [(file: String, environment: String)] = [
        ("host", "ANIMA_HOST"), ("port", "ANIMA_PORT"), ("model", "ANIMA_MODEL"), ("embedding_model", "ANIMA_EMBEDDING_MODEL"),
        ("data_dir", "ANIMA_DATA_DIR"), ("slots", "ANIMA_SLOTS"), ("context", "ANIMA_CONTEXT"), ("gpu_layers", "ANIMA_GPU_LAYERS"),
        ("policy", "ANIMA_POLICY"),
        ("quantum", "ANIMA_QUANTUM"), ("tune", "ANIMA_TUNE"), ("tls_certificate", "ANIMA_TLS_CERTIFICATE"), ("tls_key", "ANIMA_TLS_KEY"),
        ("max_request_bytes", "ANIMA_MAX_REQUEST_BYTES"), ("requests_per_minute", "ANIMA_REQUESTS_PER_MINUTE"),
        ("max_concurrent_requests", "ANIMA_MAX_CONCURRENT_REQUESTS"), ("scripted", "ANIMA_SCRIPTED"),
        ("request_header_timeout", "ANIMA_REQUEST_HEADER_TIMEOUT"), ("idle_timeout", "ANIMA_IDLE_TIMEOUT"),
        ("max_connections", "ANIMA_MAX_CONNECTIONS"), ("shutdown_grace", "ANIMA_SHUTDOWN_GRACE"), ("tools", "ANIMA_TOOLS"),
        ("approval_timeout", "ANIMA_APPROVAL_TIMEOUT"),
        ("workflow_database", "ANIMA_WORKFLOW_DATABASE"), ("workflow_lease_seconds", "ANIMA_WORKFLOW_LEASE_SECONDS"),
        ("workflow_groups", "ANIMA_WORKFLOW_GROUPS"),
        ("models", "ANIMA_MODELS"), ("max_models", "ANIMA_MAX_MODELS"), ("model_memory_mib", "ANIMA_MODEL_MEMORY_MIB"),
        ("page_in_history", "ANIMA_PAGE_IN_HISTORY"),
        ("web_rp_id", "ANIMA_WEB_RP_ID"), ("web_origins", "ANIMA_WEB_ORIGINS"),
    ]

    /// Reads the config file (if it exists) and then the environment on top of the defaults.
    public static func load(file: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ConfigurationError) -> ServerConfiguration
    {
        var configuration = ServerConfiguration()
        let path = file ?? defaultConfigFile
        if FileManager.default.fileExists(atPath: path) {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw .unreadable(path: path, reason: DurableFile.reason(of: error))
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw .invalid(path: path, reason: "the file is not UTF-8 text")
            }
            let table: TOMLTable
            do { table = try TOMLDocument.parse(text) } catch {
                throw .invalid(path: path, reason: error.description)
            }
            for key in table.keys {
                guard let value = table[key] else { continue }
                let text: String
                switch value {
                case .string(let s): text = s
                case .integer(let i): text = String(i)
                case .bool(let b): text = String(b)
                case .table:
                    throw .badValue(
                        key: key, value: "[\(key)]", source: path,
                        expected: "a setting at the top of the file; Anima's config has no tables")
                default:
                    throw .badValue(
                        key: key, value: "\(value)", source: path, expected: "a string, an integer or a boolean, not \(value.kind)")
                }
                try configuration.set(key, text, source: path)
            }
        } else if file != nil {
            throw .unreadable(path: path, reason: "no such file")
        }
        for (key, variable) in keys {
            if let value = environment[variable], !value.isEmpty { try configuration.set(key, value, source: variable) }
        }
        return configuration
    }

    /// Sets one option from text, checking it.
    public mutating func set(_ key: String, _ value: String, source: String) throws(ConfigurationError) {
        // Through the audited conversion, as flags and request fields are: its message says
        // why a value was refused (not finite, not whole, out of range).
        func int(_ range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
            do { return try WireNumber.integer(text: value, field: key, in: range) } catch {
                throw .badValue(key: key, value: error.given, source: source, expected: "\(error.expected) (it \(error.reason))")
            }
        }
        switch key {
        case "host": host = value
        case "port": port = try int(0...65535)
        case "model": model = value
        case "embedding_model": embeddingModel = value
        case "data_dir": dataDirectory = (value as NSString).expandingTildeInPath
        case "slots": slots = try int(1...255)  // LlamaEngine.maxSlots: llama.cpp's 256 sequences, one for shared prefixes
        case "context": context = try int(16...1_048_576)
        case "gpu_layers": gpuLayers = try int(0...100_000)
        case "models": models = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        case "max_models": maxModels = try int(1...64)
        case "model_memory_mib": modelMemoryMiB = try int(1...(1 << 24))
        case "page_in_history": pageInHistory = try int(0...256)  // PagerConfiguration.maximumPageInHistory
        case "policy":
            guard ["fifo", "rr", "priority"].contains(value) else {
                throw .badValue(key: key, value: value, source: source, expected: "fifo, rr or priority")
            }
            policy = value
        case "quantum": quantum = try int(1...1_000_000)
        case "tls_certificate": tlsCertificate = (value as NSString).expandingTildeInPath
        case "tls_key": tlsKey = (value as NSString).expandingTildeInPath
        case "max_request_bytes": maxRequestBytes = try int(1024...(1 << 30))
        case "requests_per_minute": requestsPerMinute = try int(1...1_000_000)
        case "max_concurrent_requests": maxConcurrentRequests = try int(1...100_000)
        case "scripted", "tune":
            guard let b = ["true": true, "1": true, "false": false, "0": false][value.lowercased()] else {
                throw .badValue(key: key, value: value, source: source, expected: "true or false")
            }
            if key == "tune" { tune = b } else { scripted = b }
        case "request_header_timeout": requestHeaderTimeout = try int(1...3600)
        case "idle_timeout": idleTimeout = try int(1...86_400)
        case "max_connections": maxConnections = try int(1...1_000_000)
        case "shutdown_grace": shutdownGrace = try int(0...3600)
        case "approval_timeout": approvalTimeout = try int(1...86_400)
        case "workflow_lease_seconds": workflowLeaseSeconds = try int(1...3600)
        case "tools":
            // Checked against the tools `anima` has when it starts (the server knows none).
            tools = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        case "workflow_groups":
            let groups = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for group in groups {
                do throws(SecurityError) { try PrincipalStore.checkName(group) } catch {
                    throw .badValue(key: key, value: group, source: source, expected: "group names such as net or users, comma-separated")
                }
            }
            workflowGroups = groups
        case "workflow_database":
            guard value.hasPrefix("postgres://") || value.hasPrefix("postgresql://") else {
                throw .badValue(key: key, value: value, source: source, expected: "a postgres:// URL")
            }
            workflowDatabase = value
        case "web_rp_id":
            guard Self.isHostName(value) else {
                throw .badValue(
                    key: key, value: value, source: source,
                    expected: "a host name such as localhost or console.example.org (no scheme, port, path or IP address)")
            }
            webRelyingPartyID = value.lowercased()
        case "web_origins":
            let origins = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for origin in origins where !Self.isOrigin(origin) {
                throw .badValue(
                    key: key, value: origin, source: source, expected: "origins such as https://console.example.org or http://localhost:8080")
            }
            webOrigins = origins
        default:
            throw .unknownKey(key: key, source: source, known: Self.keys.map(\.file))
        }
    }

    /// A DNS name (letters, digits, '-' and dots; not an IP address, which passkeys refuse).
    static func isHostName(_ text: String) -> Bool {
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        guard !text.isEmpty, text.count <= 253, !labels.allSatisfy({ $0.allSatisfy(\.isNumber) }) else { return false }
        return labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// `http(s)://host[:port]` with nothing after it, as browsers send in `Origin`.
    static func isOrigin(_ text: String) -> Bool {
        for scheme in ["https://", "http://"] where text.hasPrefix(scheme) {
            let rest = text.dropFirst(scheme.count)
            let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2, isHostName(String(parts[0])) else { return false }
            if parts.count == 2 { guard let port = Int(parts[1]), (1...65535).contains(port), String(port) == parts[1] else { return false } }
            return true
        }
        return false
    }

    /// Problems that make the configuration unusable, found before anything starts.
    public func check() throws(ConfigurationError) {
        if (tlsCertificate == nil) != (tlsKey == nil) {
            throw .badValue(
                key: "tls_certificate", value: tlsCertificate ?? tlsKey ?? "", source: "configuration",
                expected: "both a TLS certificate and a key, or neither")
        }
        for path in [tlsCertificate, tlsKey].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: path) {
            throw .unreadable(path: path, reason: "the TLS file cannot be read")
        }
    }
}

public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case invalid(path: String, reason: String)
    /// The TLS certificate or key cannot be used.
    case tls(path: String, reason: String)
    case unknownKey(key: String, source: String, known: [String])
    case badValue(key: String, value: String, source: String, expected: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .invalid(let path, let reason): "\(path) is not valid TOML: \(reason); fix it, or move it aside to use the defaults"
        case .tls(let path, let reason):
            "cannot use the TLS certificate and key (\(path)): \(reason); give a PEM certificate chain and its PEM private key"
        case .unknownKey(let key, let source, let known):
            "unknown setting \"\(key)\" in \(source); known settings: \(known.joined(separator: ", "))"
        case .badValue(let key, let value, let source, let expected):
            "\(key) = \"\(value)\" in \(source) is not valid; expected \(expected)"
        }
    }
}
