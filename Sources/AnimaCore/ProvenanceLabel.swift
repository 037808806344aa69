/// Where a piece of text came from, as security policies name it.
///
/// Only the user and the system prompt are trusted: text from anywhere else (a tool's
/// output, a web page, a file, an email, another agent, memory) is data, and never a
/// source of instructions or of the arguments of a side effect.
public enum ProvenanceSource: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Typed by the principal who owns the process (the task, a confirmation).
    case user
    /// The agent's configuration (its system prompt).
    case system
    /// A tool's output, by tool name.
    case tool(String)
    /// Content fetched from the network.
    case web
    /// A file's content.
    case file
    /// An email or other message from outside.
    case email
    /// A message from another process, by pid.
    case agent(UInt32)
    /// Something read back from memory.
    case memory

    public var isTrusted: Bool { self == .user || self == .system }

    /// The name policies use: `user`, `tool:fetch`, `agent:7`.
    public var description: String {
        switch self {
        case .user: "user"
        case .system: "system"
        case .tool(let name): "tool:\(name)"
        case .web: "web"
        case .file: "file"
        case .email: "email"
        case .agent(let pid): "agent:\(pid)"
        case .memory: "memory"
        }
    }

    /// Parses the names `description` writes.
    public init?(_ name: String) {
        switch name {
        case "user": self = .user
        case "system": self = .system
        case "web": self = .web
        case "file": self = .file
        case "email": self = .email
        case "memory": self = .memory
        default:
            if name.hasPrefix("tool:"), name.count > 5 {
                self = .tool(String(name.dropFirst(5)))
            } else if name.hasPrefix("agent:"), let pid = UInt32(name.dropFirst(6)) {
                self = .agent(pid)
            } else {
                return nil
            }
        }
    }

    public static func < (a: ProvenanceSource, b: ProvenanceSource) -> Bool { a.description < b.description }
}

/// The label every value an agent handles carries: where it came from, and who may read it.
public struct ProvenanceLabel: Sendable, Hashable, CustomStringConvertible {
    /// Every source the value depends on.
    public var sources: Set<ProvenanceSource>
    /// Principals allowed to read it; nil for anyone.
    public var readers: Set<String>?

    public init(sources: Set<ProvenanceSource>, readers: Set<String>? = nil) {
        self.sources = sources
        self.readers = readers
    }

    public init(_ source: ProvenanceSource, readers: Set<String>? = nil) {
        self.init(sources: [source], readers: readers)
    }

    public static let user = ProvenanceLabel(.user)

    /// True when every source is trusted.
    public var isTrusted: Bool { sources.allSatisfy(\.isTrusted) }

    /// The sources that are not trusted.
    public var untrustedSources: Set<ProvenanceSource> { sources.filter { !$0.isTrusted } }

    /// The label of a value made from both: the sources of both, the readers both allow.
    public func joined(with other: ProvenanceLabel) -> ProvenanceLabel {
        let readers: Set<String>? =
            switch (self.readers, other.readers) {
            case (nil, nil): nil
            case (let a?, nil): a
            case (nil, let b?): b
            case (let a?, let b?): a.intersection(b)
            }
        return ProvenanceLabel(sources: sources.union(other.sources), readers: readers)
    }

    public var description: String {
        let names = sources.sorted().map(\.description).joined(separator: ",")
        return readers.map { "\(names) (readers: \($0.sorted().joined(separator: ",")))" } ?? names
    }
}

/// What running a tool can change, as the tool declares it. Security checks the
/// provenance of the arguments of every call that is not `readOnly`.
public enum ToolEffect: String, Sendable, Hashable, Codable, CaseIterable {
    /// Reads and computes; changes nothing outside the process.
    case readOnly = "read-only"
    /// Changes state: writes a file, a record, memory.
    case write
    /// Sends data over the network (email, HTTP POST, a fetch whose URL carries data).
    case network
    /// Runs code or commands.
    case execute
}
