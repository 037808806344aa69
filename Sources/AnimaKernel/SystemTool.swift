import AnimaCore

/// A tool the kernel can run for a process's `callTool` syscall. The tools layer
/// (sandboxed built-ins and MCP servers) provides them; arguments arrive already checked
/// against `definition.parameters`.
public protocol SystemTool: Sendable {
    var definition: ToolDefinition { get }
    /// Groups the caller must hold (for example `net`).
    var requiredGroups: Set<String> { get }
    func run(_ arguments: JSONValue, for caller: ProcessCredentials) async throws -> ToolOutput
}

extension SystemTool {
    public var requiredGroups: Set<String> { [] }
}
