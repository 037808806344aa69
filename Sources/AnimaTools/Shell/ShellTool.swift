import AnimaCore

/// Runs a shell command inside the sandbox, in the agent's workspace, without network.
public struct ShellTool: Tool {
    public var limits: SandboxLimits

    public init(limits: SandboxLimits = .standard) {
        self.limits = limits
    }

    public let name = "shell"
    public let description = """
        Runs a bash command in a sandbox whose working directory is your workspace (/workspace). \
        No network; the system is read-only; output is truncated past a limit. \
        Example: {"command": "ls -la && wc -l notes.txt"}
        """
    public let parameters = JSONSchema.literal(
        """
        {"type":"object","properties":{"command":{"type":"string","minLength":1,"maxLength":100000,
        "description":"A bash command line"},
        "timeout_seconds":{"type":"number","minimum":1,"maximum":600,"description":"Wall-clock limit (default 30)"}},
        "required":["command"],"additionalProperties":false}
        """)
    public let effect = ToolEffect.execute
    public let needs: Set<ToolNeed> = [.workspace]

    public func perform(_ arguments: JSONValue, in context: ToolContext) async throws -> ToolResult {
        var limits = limits
        if let seconds = try WireNumber.number(arguments["timeout_seconds"], field: "timeout_seconds", in: 1...600) {
            limits.wallTime = .milliseconds(Int(seconds * 1000))
        }
        let policy = SandboxPolicy(workspace: context.workspace, limits: limits, supplementaryGroups: context.linuxGroups)
        let result = try await context.sandbox.run(["/bin/bash", "-c", arguments["command"]?.stringValue ?? ""], policy: policy)
        return ToolResult(text: result.report, value: result.json, isError: !result.succeeded)
    }
}
