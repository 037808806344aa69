import AnimaCore
import Foundation
import TOMLKit

/// Everything `anima serve` needs to know, from (lowest to highest precedence) built-in
/// defaults, the TOML config file, `ANIMA_*` environment variables, and flags.
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
    /// fifo, rr or priority.
    public var policy = "rr"
    public var quantum = 32
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// Largest request body accepted.
    public var maxRequestBytes = 1 << 20
    /// Requests each token may make per minute.
    public var requestsPerMinute = 600
    /// Requests each token may have in flight at once.
    public var maxConcurrentRequests = 16
    /// Serve a scripted echo model instead of a real one (load tests, CI without a model).
    public var scripted = false

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
        ("data_dir", "ANIMA_DATA_DIR"), ("slots", "ANIMA_SLOTS"), ("context", "ANIMA_CONTEXT"), ("policy", "ANIMA_POLICY"),
        ("quantum", "ANIMA_QUANTUM"), ("tls_certificate", "ANIMA_TLS_CERTIFICATE"), ("tls_key", "ANIMA_TLS_KEY"),
        ("max_request_bytes", "ANIMA_MAX_REQUEST_BYTES"), ("requests_per_minute", "ANIMA_REQUESTS_PER_MINUTE"),
        ("max_concurrent_requests", "ANIMA_MAX_CONCURRENT_REQUESTS"), ("scripted", "ANIMA_SCRIPTED"),
    ]

    /// Reads the config file (if it exists) and then the environment on top of the defaults.
    public static func load(file: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        let path = file ?? defaultConfigFile
        if FileManager.default.fileExists(atPath: path) {
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw .unreadable(path: path, reason: error.localizedDescription)
            }
            let table: TOMLTable
            do { table = try TOMLTable(string: text) } catch {
                throw .invalid(path: path, reason: "\(error)")
            }
            for key in table.keys {
                guard let value = table[key] else { continue }
                let text: String
                if let s = value.string {
                    text = s
                } else if let i = value.int {
                    text = String(i)
                } else if let b = value.bool {
                    text = String(b)
                } else {
                    throw .badValue(key: key, value: value.debugDescription, source: path, expected: "a string, an integer or a boolean")
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
        func int(_ range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
            guard let n = Int(value), range.contains(n) else {
                throw .badValue(key: key, value: value, source: source, expected: "an integer from \(range.lowerBound) to \(range.upperBound)")
            }
            return n
        }
        switch key {
        case "host": host = value
        case "port": port = try int(0...65535)
        case "model": model = value
        case "embedding_model": embeddingModel = value
        case "data_dir": dataDirectory = (value as NSString).expandingTildeInPath
        case "slots": slots = try int(1...256)
        case "context": context = try int(16...1_048_576)
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
        case "scripted":
            guard let b = ["true": true, "1": true, "false": false, "0": false][value.lowercased()] else {
                throw .badValue(key: key, value: value, source: source, expected: "true or false")
            }
            scripted = b
        default:
            throw .unknownKey(key: key, source: source, known: Self.keys.map(\.file))
        }
    }

    /// Problems that make the configuration unusable, found before anything starts.
    public func check() throws(ConfigurationError) {
        if (tlsCertificate == nil) != (tlsKey == nil) {
            throw .badValue(key: "tls_certificate", value: tlsCertificate ?? tlsKey ?? "", source: "configuration",
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
    case unknownKey(key: String, source: String, known: [String])
    case badValue(key: String, value: String, source: String, expected: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .invalid(let path, let reason): "\(path) is not valid TOML: \(reason)"
        case .unknownKey(let key, let source, let known): "unknown setting \"\(key)\" in \(source); known settings: \(known.joined(separator: ", "))"
        case .badValue(let key, let value, let source, let expected): "\(key) = \"\(value)\" in \(source) is not valid; expected \(expected)"
        }
    }
}
