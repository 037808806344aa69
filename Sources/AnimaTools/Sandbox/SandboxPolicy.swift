/// What one sandboxed process may see and do beyond the read-only system view.
public struct SandboxPolicy: Sendable, Hashable {
    /// A host directory mounted read-write at `/workspace` and made the working directory;
    /// nil for none (the working directory is then the private `/tmp`).
    public var workspace: String?
    /// Whether the sandbox shares the host's network; otherwise it has its own, empty one.
    public var network: Bool
    /// Extra host paths mounted read-only at the same place (an MCP server's installation).
    public var readOnlyPaths: [String]
    /// The environment, replacing the caller's entirely.
    public var environment: [String: String]
    public var limits: SandboxLimits
    /// The uid and gid the sandbox runs as where Anima runs as root: the workspace's own
    /// (`Workspace.owner`/`group`), so no two workspaces share a user or a process limit.
    /// Nil: `Sandbox.sandboxUID`.
    public var owner: UInt32?
    public var group: UInt32?
    /// Linux groups the sandboxed process holds as supplementary groups, where Anima runs
    /// as root (an unprivileged sandbox cannot hold any; there it has none).
    public var supplementaryGroups: [UInt32]

    public init(
        workspace: String? = nil, network: Bool = false, readOnlyPaths: [String] = [],
        environment: [String: String] = [:], limits: SandboxLimits = .standard, supplementaryGroups: [UInt32] = [],
        owner: UInt32? = nil, group: UInt32? = nil
    ) {
        self.owner = owner
        self.group = group
        self.supplementaryGroups = supplementaryGroups
        self.workspace = workspace
        self.network = network
        self.readOnlyPaths = readOnlyPaths
        self.environment = environment
        self.limits = limits
    }

    /// The environment every sandboxed process starts with, before `environment`.
    static let baseEnvironment: [String: String] = [
        "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TMPDIR": "/tmp", "HOME": "/workspace",
        "PYTHONDONTWRITEBYTECODE": "1",
    ]
}

extension SandboxPolicy {
    /// A policy for running in `workspace`, as the workspace's own user.
    public init(
        workspace: Workspace, network: Bool = false, readOnlyPaths: [String] = [], environment: [String: String] = [:],
        limits: SandboxLimits = .standard, supplementaryGroups: [UInt32] = []
    ) {
        self.init(
            workspace: workspace.root, network: network, readOnlyPaths: readOnlyPaths, environment: environment, limits: limits,
            supplementaryGroups: supplementaryGroups, owner: workspace.owner, group: workspace.group)
    }
}
