import AnimaCore

/// A tool the kernel can run for a process's `callTool` syscall. The tools layer
/// (sandboxed built-ins and MCP servers) provides them; arguments arrive already checked
/// against `definition.parameters`.
public protocol SystemTool: Sendable {
    var definition: ToolDefinition { get }
    /// Groups the caller must hold (for example `net`).
    var requiredGroups: Set<String> { get }
    func run(_ arguments: JSONValue, for caller: ProcessCredentials) async throws -> ToolOutput
    /// What running it can change. The security monitor checks the provenance of the
    /// arguments of every call that is not `.readOnly`; the policy file may override it.
    var effect: ToolEffect { get }
    /// Where its output comes from (`.web` for a fetch, `.file` for a file read); the
    /// output is labelled with this and with `.tool(name)`.
    var outputSource: ProvenanceSource { get }
    /// The part each top-level argument plays, which the policy engine reads (see `ArgumentRole`).
    var argumentRoles: [String: ArgumentRole] { get }
}

extension SystemTool {
    public var requiredGroups: Set<String> { [] }
    /// Read-only until the tool says otherwise.
    public var effect: ToolEffect { .readOnly }
    public var outputSource: ProvenanceSource { .tool(definition.name) }
    public var argumentRoles: [String: ArgumentRole] { [:] }
}
