import AnimaCore

/// What the kernel tells observers (the CLI's live view, the server's event streams).
public enum KernelEvent: Sendable {
    case spawned(ProcessStatus)
    case stateChanged(PID, ProcessState)
    case text(PID, String)
    case toolCall(PID, ToolCall)
    case toolResult(PID, ToolOutput)
    case exited(PID, ExitStatus)
    /// A tool call of the process waits for a person's yes (see `Approvals`).
    case approvalRequested(PID, ApprovalRequest)
    /// The question was settled: approved, declined or unanswered.
    case approvalSettled(PID, id: String, approved: Bool)
    /// The policy refused a tool call of the process, with the reason the agent reads too.
    case toolDenied(PID, ToolCall, reason: String)
    /// A conversation agent answered a turn (marked like a final answer) and waits for the next.
    case turnEnded(PID, String)
}

extension KernelEvent {
    /// The process the event is about.
    public var pid: PID {
        switch self {
        case .spawned(let status): status.pid
        case .stateChanged(let pid, _), .text(let pid, _), .toolCall(let pid, _), .toolResult(let pid, _), .exited(let pid, _),
            .approvalRequested(let pid, _), .approvalSettled(let pid, _, _), .toolDenied(let pid, _, _), .turnEnded(let pid, _):
            pid
        }
    }
}
