/// Who a memory record came from: what the user said, what the agent said or concluded,
/// what a tool returned, or what was imported in bulk.
///
/// Ranking and filters use it: the agent's own unverified statements must not outrank
/// what the user said. Stored as a small integer beside the sealed record by memory
/// storage (it is not content).
public enum MemorySource: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    case user
    case agent
    case tool
    case `import`

    /// The trust a record from this source gets unless told otherwise: the user's words
    /// and what the user imported are trusted, the agent's are unverified, a tool's untrusted.
    public var defaultTrust: MemoryTrust {
        switch self {
        case .user, .import: .trusted
        case .agent: .unverified
        case .tool: .untrusted
        }
    }

    public var description: String { rawValue }

    /// Parses a name (`user`, `agent`, `tool`, `import`); nil for anything else.
    public init?(name: String) { self.init(rawValue: name.lowercased()) }

    /// The names, for an error that lists them.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// How far a memory record can be believed, lowest first: text from tools and the web,
/// the agent's own statements, and what the user said or imported.
public enum MemoryTrust: Int, Sendable, Hashable, Comparable, CaseIterable, Codable, CustomStringConvertible {
    case untrusted = 0
    case unverified = 1
    case trusted = 2

    public static func < (a: MemoryTrust, b: MemoryTrust) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .untrusted: "untrusted"
        case .unverified: "unverified"
        case .trusted: "trusted"
        }
    }

    /// Parses a name (`untrusted`, `unverified`, `trusted`); nil for anything else.
    public init?(name: String) {
        guard let trust = Self.allCases.first(where: { $0.description == name.lowercased() }) else { return nil }
        self = trust
    }

    /// The names, for an error that lists them.
    public static var names: String { allCases.map(\.description).joined(separator: ", ") }
}
