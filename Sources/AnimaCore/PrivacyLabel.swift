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
