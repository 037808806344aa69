import AnimaCore
import AnimaTools

/// Makes an `AnimaTools` tool a kernel `SystemTool`: the kernel checks the caller's groups
/// against the groups of the tool's needs and audits the call; the adapter gives the tool
/// the calling agent's workspace and the sandbox, and turns its result into a `ToolOutput`.
public struct ToolAdapter: SystemTool {
    public let tool: any Tool
    public let sandbox: Sandbox
    /// The directory that holds every agent's workspace.
    public let workspaceBase: String

    public init(_ tool: any Tool, sandbox: Sandbox = .standard, workspaceBase: String = Workspace.defaultBase) {
        self.tool = tool
        self.sandbox = sandbox
        self.workspaceBase = workspaceBase
    }

    /// Adapters for every tool of `tools`.
    public static func adapting(_ tools: [any Tool], sandbox: Sandbox = .standard, workspaceBase: String = Workspace.defaultBase) -> [ToolAdapter] {
        tools.map { ToolAdapter($0, sandbox: sandbox, workspaceBase: workspaceBase) }
    }

    public var definition: ToolDefinition { tool.definition }
    public var requiredGroups: Set<String> { tool.requiredGroups }
    public var effect: ToolEffect { tool.effect }
    public var outputSource: ProvenanceSource { tool.outputSource }

    /// The workspace name of a process: its owner and pid, so agents never share one.
    public static func agentName(_ caller: ProcessCredentials) -> String {
        "\(caller.owner.name)-\(caller.pid)"
    }

    public func run(_ arguments: JSONValue, for caller: ProcessCredentials) async throws -> ToolOutput {
        let agent = Self.agentName(caller)
        let workspace: Workspace
        do {
            workspace = try Workspace(agent: agent, base: workspaceBase, sandbox: sandbox)
        } catch {
            return ToolOutput(text: "error: \(error.description)", isError: true)
        }
        let context = ToolContext(agent: agent, workspace: workspace, groups: caller.groups, sandbox: sandbox)
        let result = await tool.call(arguments, in: context)
        return ToolOutput(text: result.text, isError: result.isError)
    }
}
