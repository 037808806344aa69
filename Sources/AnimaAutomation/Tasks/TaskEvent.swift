import AnimaCore

/// Progress of a macro task, as `anima do` shows it live.
public enum TaskEvent: Sendable, Hashable, CustomStringConvertible {
    case planned(task: String, nodes: [String])
    case started(node: String, role: Specialist, pid: Int, attempt: Int)
    case finished(node: String, passed: Bool, detail: String)
    case replanning(reason: String)
    case done(task: String, passed: Bool)

    public var description: String {
        switch self {
        case .planned(let task, let nodes): "task \(task): plan of \(nodes.count) subtask(s): \(nodes.joined(separator: ", "))"
        case .started(let node, let role, let pid, let attempt):
            "  \(node) (\(role.rawValue), pid \(pid))\(attempt > 1 ? " retry \(attempt - 1)" : "") started"
        case .finished(let node, let passed, let detail): "  \(node) \(passed ? "passed" : "failed"): \(detail)"
        case .replanning(let reason): "re-planning: \(reason)"
        case .done(let task, let passed): "task \(task) \(passed ? "done" : "failed")"
        }
    }
}
