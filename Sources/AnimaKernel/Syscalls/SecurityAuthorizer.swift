import AnimaCore
import AnimaSecurity
import Foundation

/// Owner-and-group rules over the live user store: each syscall is checked with the
/// groups the owner holds *now*, so a revoked group is gone from every process of theirs
/// at its next syscall, and no process ever holds more than its owner.
public struct SecurityAuthorizer: SyscallAuthorizer {
    public let principals: PrincipalStore
    public var rules: OwnerGroupAuthorizer

    public init(principals: PrincipalStore, rules: OwnerGroupAuthorizer = OwnerGroupAuthorizer()) {
        self.principals = principals
        self.rules = rules
    }

    /// The authorizer for an installation whose data directory holds a user store
    /// (`principals.json`, made by `anima users`), with the groups `tools` require; nil
    /// when there is no store, so installations without one keep the plain owner rules.
    public static func load(dataDirectory directory: String, tools: [any SystemTool]) throws(SecurityError) -> SecurityAuthorizer? {
        let path = directory + "/" + PrincipalStore.fileName
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let groups = Dictionary(tools.map { ($0.definition.name, $0.requiredGroups) }, uniquingKeysWith: { a, _ in a })
        return SecurityAuthorizer(principals: try PrincipalStore(path: path), rules: OwnerGroupAuthorizer(toolGroups: groups))
    }

    public func deny(_ syscall: Syscall, by caller: ProcessCredentials, target: ProcessCredentials?) -> String? {
        guard let owner = principals.principal(named: caller.owner.name) else {
            return "\(caller.owner.name) is not a user of this system (root can add them: `anima users add \(caller.owner.name)`)"
        }
        var current = caller
        current.owner = owner
        current.groups = owner.isRoot ? caller.groups : caller.groups.intersection(owner.groups)
        return rules.deny(syscall, by: current, target: target)
    }
}
