import AnimaCore
import AnimaSecurity

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
