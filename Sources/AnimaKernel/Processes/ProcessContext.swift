import AnimaCore
import AnimaMemory
import AnimaProcessor
import AnimaSecurity

/// A process's handle on the kernel: the only thing its program can act through.
public struct ProcessContext: Sendable {
    public let pid: PID
    let kernel: Kernel

    public func syscall(_ call: Syscall) async throws -> SyscallResult {
        try await kernel.syscall(pid, call)
    }

    /// Generates; `onEvent` sees every event as it arrives (for streaming it on).
    public func generate(_ request: GenerationRequest, onEvent: Kernel.GenerationSink? = nil) async throws -> GenerationResult {
        guard case .generated(let result) = try await kernel.syscall(pid, .generate(request), sink: onEvent) else {
            throw SyscallError.failed("unexpected result")
        }
        return result
    }

    public func callTool(_ call: ToolCall) async throws -> ToolOutput {
        guard case .toolOutput(let output) = try await syscall(.callTool(call)) else { throw SyscallError.failed("unexpected result") }
        return output
    }

    public func send(_ body: JSONValue, to pid: PID) async throws {
        _ = try await syscall(.send(to: pid, body))
    }

    public func receive(timeout: Duration? = nil) async throws -> Message? {
        guard case .message(let message) = try await syscall(.receive(timeout: timeout)) else {
            throw SyscallError.failed("unexpected result")
        }
        return message
    }

    public func spawn(_ spec: AgentSpec) async throws -> PID {
        guard case .spawned(let pid) = try await syscall(.spawn(spec)) else { throw SyscallError.failed("unexpected result") }
        return pid
    }

    public func wait(_ pid: PID) async throws -> ExitStatus {
        guard case .exited(let status) = try await syscall(.wait(pid)) else { throw SyscallError.failed("unexpected result") }
        return status
    }

    /// Opens the persistent memory of the owner's agent `agent`; nil when the kernel runs
    /// without a memory system.
    public func attachMemory(agent: String, systemPrefix: String) async throws -> Pager? {
        guard case .pager(let pager) = try await syscall(.memory(.attach(agent: agent, systemPrefix: systemPrefix))) else {
            throw SyscallError.failed("unexpected result")
        }
        return pager
    }

    /// The side-effecting and the reading tools among `names`, when the process's action
    /// set is still to be fixed; nil when none applies (see `fixActions`).
    func actionCandidates(named names: [String]) async -> (acting: [ToolDefinition], reading: [ToolDefinition])? {
        await kernel.actionCandidates(named: names, for: pid)
    }

    /// Fixes what the task may do once untrusted text is in its context; fails once such
    /// text has entered it (a set fixed then could have been steered).
    func fixActions(_ actions: ActionSet) async throws {
        try await kernel.fixActions(actions, for: pid)
    }

    /// The tools a later turn may add to the action set (see `Kernel.laterActionCandidates`).
    func laterActionCandidates(named names: [String]) async -> (acting: [ToolDefinition], reading: [ToolDefinition])? {
        await kernel.laterActionCandidates(named: names, for: pid)
    }

    func extendActions(_ actions: ActionSet) async throws {
        try await kernel.extendActions(actions, for: pid)
    }

    /// Ends a conversation turn with `answer`; returns it as observers saw it (marked).
    @discardableResult
    func endTurn(_ answer: String) async -> String {
        await kernel.endTurn(answer, for: pid)
    }

    /// Reports calls the model chose that the agent did not run (`CallGrounding`): the
    /// user sees them denied, and the audit trail keeps them.
    func noteUngrounded(_ calls: [ToolCall]) async {
        await kernel.noteUngrounded(calls, for: pid)
    }

    /// How the kernel's processor writes tool calls (nil when it has no one family).
    public var toolCallSyntax: ToolCallSyntax? { kernel.processor?.info.toolCallSyntax }

    /// Definitions of the tools this process may see, by name.
    public func tools(named names: [String]) async -> [ToolDefinition] {
        await kernel.toolDefinitions.filter { names.contains($0.name) }
    }
}
