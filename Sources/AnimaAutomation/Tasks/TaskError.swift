/// Why a macro task (`anima do`) could not be planned, run or recorded; each message says
/// what was wrong and what to do next.
public enum TaskError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The plan is not a usable graph (a cycle, an unknown input, a missing tool, ...).
    case invalidGraph(String)
    /// The model gave no usable plan, even when asked again with the reason.
    case planning(String)
    /// A subtask's result did not match its declared output schema.
    case handoff(node: String, reason: String)
    /// A coding subtask's acceptance tests still fail when its budget ran out.
    case checksFailed(node: String, summary: String)
    /// Subtasks failed after retries and re-planning; `tried` lists what was attempted.
    case failed(summary: String, tried: [String])
    /// The acceptance tests could not run at all (no sandbox, no python3).
    case testRunner(String)
    case storage(String)
    case notFound(String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .invalidGraph(let reason): "the task graph is not valid: \(reason)"
        case .planning(let reason):
            "no usable plan: \(reason); rephrase the goal more concretely or use a larger model (--model)"
        case .handoff(let node, let reason):
            "subtask \(node) handed over a value that does not match its output schema: \(reason)"
        case .checksFailed(let node, let summary):
            "subtask \(node) did not pass its acceptance tests within its budget: \(summary)"
        case .failed(let summary, let tried):
            "the task failed: \(summary); tried: \(tried.joined(separator: "; "))"
        case .testRunner(let reason):
            "the acceptance tests could not run: \(reason); check that bubblewrap and python3 are installed (scripts/setup.sh)"
        case .storage(let reason): "the task store failed: \(reason)"
        case .notFound(let what): "\(what) was not found; `anima tasks list` and `anima skills list` show what exists"
        case .invalidArgument(let reason): reason
        }
    }
}
