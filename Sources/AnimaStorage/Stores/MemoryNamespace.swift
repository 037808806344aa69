/// Whose memory a record is: one user's, one agent's. Every store handle is bound to
/// exactly one namespace, and every query the storage layer runs is confined to it.
///
/// Names are short identifiers (letters, digits, `.`, `_`, `-`; 1 to 64 characters), so
/// they can be used in key derivation and file names without escaping.
public struct MemoryNamespace: Sendable, Hashable, Codable, CustomStringConvertible {
    public let user: String
    public let agent: String

    public init(user: String, agent: String) throws(StorageError) {
        try Self.check(user, what: "user")
        try Self.check(agent, what: "agent")
        self.user = user
        self.agent = agent
    }

    public var description: String { "\(user)/\(agent)" }

    /// Checks that `name` can name a user or an agent; `what` says which, for the error.
    public static func check(_ name: String, what: String) throws(StorageError) {
        let allowed = name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D
        }
        guard !name.isEmpty, name.utf8.count <= 64, allowed, name != ".", name != ".." else {
            throw .invalidNamespace("\(what) name \"\(name)\" must be 1 to 64 letters, digits, '.', '_' or '-'")
        }
    }
}
