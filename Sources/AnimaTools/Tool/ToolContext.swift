import AnimaCore

/// Who is calling a tool and with what: the agent, its workspace, its groups and the
/// sandbox tools run in.
public struct ToolContext: Sendable {
    /// A stable name for the calling agent; sessions (Python) are kept per agent.
    public var agent: String
    public var workspace: Workspace
    /// The caller's groups; needs are granted through them.
    public var groups: Set<String>
    public var sandbox: Sandbox
    /// The Linux gids the caller's groups map onto; sandboxed commands hold them.
    public var linuxGroups: [UInt32]

    public init(agent: String, workspace: Workspace, groups: Set<String>, sandbox: Sandbox, linuxGroups: [UInt32] = []) {
        self.agent = agent
        self.workspace = workspace
        self.groups = groups
        self.sandbox = sandbox
        self.linuxGroups = linuxGroups
    }

    /// Whether the caller holds the group that grants `need`.
    public func grants(_ need: ToolNeed) -> Bool {
        guard let group = need.group else { return true }
        return groups.contains(group) || groups.contains("root")
    }
}
