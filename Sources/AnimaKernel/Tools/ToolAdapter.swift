import AnimaCore
import AnimaSecurity
import AnimaTools

/// Makes an `AnimaTools` tool a kernel `SystemTool`: the kernel checks the caller's groups
/// against the groups of the tool's needs and audits the call; the adapter gives the tool
/// the calling agent's workspace and the sandbox, and turns its result into a `ToolOutput`.
public struct ToolAdapter: SystemTool {
    public let tool: any Tool
    public let sandbox: Sandbox
    /// The directory that holds every agent's workspace.
    public let workspaceBase: String
    /// The user store whose Linux group mapping (`anima groups map`) gives sandboxed
    /// commands their supplementary groups: the mapped gids of the groups the caller's
    /// owner holds at the time of the call. Nil: no supplementary groups.
    public var principals: PrincipalStore?

    public init(_ tool: any Tool, sandbox: Sandbox = .standard, workspaceBase: String = Workspace.defaultBase) {
        self.tool = tool
        self.sandbox = sandbox
        self.workspaceBase = workspaceBase
    }

    /// Adapters for every tool of `tools`.
    public static func adapting(_ tools: [any Tool], sandbox: Sandbox = .standard, workspaceBase: String = Workspace.defaultBase)
        -> [ToolAdapter]
    {
        tools.map { ToolAdapter($0, sandbox: sandbox, workspaceBase: workspaceBase) }
    }

    public var definition: ToolDefinition { tool.definition }
    public var requiredGroups: Set<String> { tool.requiredGroups }
    public var effect: ToolEffect { tool.effect }
    public var outputSource: ProvenanceSource { tool.outputSource }
    public var argumentRoles: [String: ArgumentRole] { tool.argumentRoles }

    /// The workspace name of a process: its owner and pid, so agents never share one.
    public static func agentName(_ caller: ProcessCredentials) -> String {
        "\(caller.owner.name)-\(caller.pid)"
    }

    /// The mapped gids of the groups `caller` holds now: its own, less any its owner has
    /// lost since it started (a revocation counts at the very next call).
    func linuxGroups(of caller: ProcessCredentials) -> [UInt32] {
        guard let principals, let owner = principals.principal(named: caller.owner.name) else { return [] }
        return principals.linuxGroups(of: owner.isRoot ? caller.groups : caller.groups.intersection(owner.groups))
    }

    public func run(_ arguments: JSONValue, for caller: ProcessCredentials) async throws -> ToolOutput {
        let agent = Self.agentName(caller)
        let workspace: Workspace
        do {
            workspace = try Workspace(agent: agent, base: workspaceBase, sandbox: sandbox)
        } catch {
            return ToolOutput(text: "error: \(error.description)", isError: true)
        }
        let context = ToolContext(
            agent: agent, workspace: workspace, groups: caller.groups, sandbox: sandbox, linuxGroups: linuxGroups(of: caller))
        let result = await tool.call(arguments, in: context)
        return ToolOutput(text: result.text, isError: result.isError)
    }
}
