/// Who acts: a user, or an agent acting for one, with the groups that grant capabilities
/// (for example `net` for network access). Agents never hold more than their owner.
public struct Principal: Sendable, Hashable, Codable, CustomStringConvertible {
    public var name: String
    public var groups: Set<String>

    public init(name: String, groups: Set<String> = []) {
        self.name = name
        self.groups = groups
    }

    /// The superuser: every check passes. Only the kernel and the operator hold it.
    public static let root = Principal(name: "root", groups: ["root"])

    public var isRoot: Bool { name == "root" || groups.contains("root") }

    public var description: String {
        groups.isEmpty ? name : "\(name) (\(groups.sorted().joined(separator: ",")))"
    }
}
