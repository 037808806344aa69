/// How far the data in a request may travel.
///
/// A request labelled private, or carrying data of a group that the router protects
/// (for example `medical`), is only ever served on this machine. The label travels with
/// the request; the router enforces it and records every decision it made because of it,
/// and remote providers refuse private requests outright. The security layer attaches
/// these labels from the provenance of the data a request was built from.
public struct PrivacyLabel: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The data must stay on this machine.
    public var isPrivate: Bool
    /// The groups whose data the request carries.
    public var groups: Set<String>

    public init(isPrivate: Bool = false, groups: Set<String> = []) {
        self.isPrivate = isPrivate
        self.groups = groups
    }

    /// Data anyone may see; any allowed processor may serve it.
    public static let `public` = PrivacyLabel()

    /// Data that must not leave this machine.
    public static let `private` = PrivacyLabel(isPrivate: true)

    /// Data belonging to these groups.
    public static func groups(_ names: String...) -> PrivacyLabel { PrivacyLabel(groups: Set(names)) }

    /// The label of something made from both: private if either is, with the groups of both.
    public func joined(with other: PrivacyLabel) -> PrivacyLabel {
        PrivacyLabel(isPrivate: isPrivate || other.isPrivate, groups: groups.union(other.groups))
    }

    /// Whether a request with this label must stay on this machine when `protected` are
    /// the groups whose data is kept local.
    public func staysLocal(protecting protected: Set<String>) -> Bool {
        isPrivate || !groups.isDisjoint(with: protected)
    }

    public var description: String {
        var parts: [String] = [isPrivate ? "private" : "public"]
        if !groups.isEmpty { parts.append("groups: " + groups.sorted().joined(separator: ",")) }
        return parts.joined(separator: "; ")
    }
}

extension PrivacyLabel {
    /// The privacy of data with this provenance: the one rule by which the kernel labels
    /// every generation from what the process's context holds.
    ///
    /// Private data never leaves the machine unless the user relaxes it explicitly, so:
    /// - memory (core blocks, pages brought in, what memory functions return) is private:
    ///   it is the user's personal data;
    /// - file contents are private: they are the user's local data;
    /// - email is private: it is the user's correspondence;
    /// - web content, the user's own words, the system prompt and other tools' output are
    ///   public (a message from another process carries that process's label instead).
    public init(provenance: ProvenanceLabel) {
        self = provenance.sources.contains { Self.isPrivate($0) } ? .private : .public
    }

    /// Whether data from `source` is private by the rule above.
    public static func isPrivate(_ source: ProvenanceSource) -> Bool {
        switch source {
        case .memory, .file, .email: true
        case .user, .system, .web, .tool, .agent: false
        }
    }
}
