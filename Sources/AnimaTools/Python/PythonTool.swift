import AnimaCore

/// Runs Python in the agent's persistent session, inside the sandbox: variables survive
/// between calls; stdout, stderr, the value of a final expression and exceptions come back.
public struct PythonTool: Tool {
    /// Every agent's session, by agent name.
    public let sessions: PythonSessions

    public init(sessions: PythonSessions = PythonSessions()) {
        self.sessions = sessions
    }

    public let name = "python"
    public let description = """
        Runs Python 3 code in your persistent session (variables survive between calls), in a \
        sandbox with your workspace as the working directory and no network. The value of a final \
        expression is returned. Example: {"code": "x = 21\\nx * 2"}
        """
    public let parameters = JSONSchema.literal(
        """
        {"type":"object","properties":{"code":{"type":"string","minLength":1,"maxLength":200000},
        "timeout_seconds":{"type":"number","minimum":1,"maximum":600,"description":"Time limit for this call (default 30)"}},
        "required":["code"],"additionalProperties":false}
        """)
    public let effect = ToolEffect.execute
    public let needs: Set<ToolNeed> = [.workspace]

    public func perform(_ arguments: JSONValue, in context: ToolContext) async throws -> ToolResult {
        let session = await sessions.session(for: context)
        let timeout = try WireNumber.number(arguments["timeout_seconds"], field: "timeout_seconds", in: 1...600).map {
            Duration.milliseconds(Int($0 * 1000))
        }
        let reply = try await session.run(arguments["code"]?.stringValue ?? "", timeout: timeout)
        var parts: [String] = []
        if reply.restarted { parts.append("[the session was restarted; earlier variables are gone]") }
        if !reply.stdout.isEmpty { parts.append(reply.stdout) }
        if reply.stdoutBytes > reply.stdout.utf8.count {
            parts.append("[output truncated: \(reply.stdoutBytes) bytes printed; the first \(reply.stdout.utf8.count) are shown]")
        }
        if !reply.stderr.isEmpty { parts.append("[stderr]\n" + reply.stderr) }
        if let value = reply.value { parts.append(value) }
        if let error = reply.error { parts.append(error) }
        let value: JSONValue = [
            "stdout": .string(reply.stdout), "stderr": .string(reply.stderr),
            "value": reply.value.map { .string($0) } ?? .null, "error": reply.error.map { .string($0) } ?? .null,
        ]
        return ToolResult(text: parts.isEmpty ? "(no output)" : parts.joined(separator: "\n"), value: value, isError: reply.error != nil)
    }
}

/// The Python sessions of all agents, one per agent, started on first use.
public actor PythonSessions {
    public let limits: SandboxLimits
    private var sessions: [String: PythonSession] = [:]

    /// - Parameter limits: per session; CPU seconds count over the session's life.
    public init(limits: SandboxLimits = SandboxLimits(cpuSeconds: 600)) {
        self.limits = limits
    }

    /// The session of the calling agent. A running interpreter keeps the Linux groups it
    /// started with, so when the owner's mapped groups have changed since (a grant or a
    /// revoke), the old session ends and a new one starts with the current groups.
    public func session(for context: ToolContext) async -> PythonSession {
        if let session = sessions[context.agent] {
            if session.policy.supplementaryGroups == context.linuxGroups { return session }
            await session.close()
        }
        let session = PythonSession(
            sandbox: context.sandbox, workspace: context.workspace, limits: limits, supplementaryGroups: context.linuxGroups)
        sessions[context.agent] = session
        return session
    }

    /// Ends every session.
    public func closeAll() async {
        for session in sessions.values { await session.close() }
        sessions.removeAll()
    }
}
