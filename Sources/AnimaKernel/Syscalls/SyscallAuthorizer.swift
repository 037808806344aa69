import AnimaCore

/// Decides whether a process may make a syscall. The kernel asks before doing anything,
/// so a denied syscall has no side effect.
public protocol SyscallAuthorizer: Sendable {
    /// Nil to allow; otherwise the reason for the denial, said so the user can act on it.
    func deny(_ syscall: Syscall, by caller: ProcessCredentials, target: ProcessCredentials?) -> String?
}

/// Who a process is, as authorisation sees it.
public struct ProcessCredentials: Sendable, Hashable {
    public var pid: PID
    public var owner: Principal
    /// The groups the process holds: at most its owner's.
    public var groups: Set<String>
    /// Its parent and the parent's ancestors, nearest first.
    public var ancestors: [PID]

    public init(pid: PID, owner: Principal, groups: Set<String>, ancestors: [PID]) {
        self.pid = pid
        self.owner = owner
        self.groups = groups
        self.ancestors = ancestors
    }
}

/// Unix-like rules until the security layer refines them: a process may act on itself,
/// on its descendants and on processes of the same owner; root may act on anything; a
/// child asks for no group its parent lacks; a tool that needs a group needs the caller
/// to hold it.
public struct OwnerGroupAuthorizer: SyscallAuthorizer {
    /// Which groups each tool needs, by tool name.
    public var toolGroups: [String: Set<String>]

    public init(toolGroups: [String: Set<String>] = [:]) {
        self.toolGroups = toolGroups
    }

    public func deny(_ syscall: Syscall, by caller: ProcessCredentials, target: ProcessCredentials?) -> String? {
        if caller.owner.isRoot { return nil }
        switch syscall {
        case .wait, .signal, .send:
            guard let target else { return nil }  // the kernel reports a missing process itself
            if target.pid == caller.pid { return nil }
            if target.ancestors.contains(caller.pid) { return nil }
            if target.owner.name == caller.owner.name { return nil }
            return "process \(target.pid) belongs to \(target.owner.name), not \(caller.owner.name)"
        case .spawn(let spec):
            let asked = spec.groups ?? []
            let extra = asked.subtracting(caller.groups)
            return extra.isEmpty ? nil : "a child cannot hold groups its parent lacks: \(extra.sorted().joined(separator: ", "))"
        case .callTool(let call):
            let needed = toolGroups[call.name] ?? []
            let missing = needed.subtracting(caller.groups)
            return missing.isEmpty ? nil : "tool \(call.name) needs group \(missing.sorted().joined(separator: ", "))"
        case .generate, .receive, .memory, .listProcesses:
            return nil
        }
    }
}
