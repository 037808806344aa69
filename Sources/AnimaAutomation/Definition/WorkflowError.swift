import Foundation

/// What went wrong with a workflow file, a run or a trigger, said so a person can fix it.
public enum WorkflowError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// The file is not valid JSON.
    case unreadable(String)
    /// A field of the workflow (step nil) or of one step is missing or wrong.
    case invalid(step: String?, field: String, reason: String)
    case unknownWorkflow(String)
    case unknownRun(String)
    /// The run's inputs do not match the workflow's input schema.
    case badInputs(String)
    /// A step may not act as asked: a missing group, or an action chosen by untrusted data.
    case denied(step: String, reason: String)
    /// A step failed after its retries.
    case stepFailed(step: String, reason: String)
    case cancelled
    case timedOut(step: String, seconds: Double)
    /// The store could not be read or written.
    case storage(String)
    /// A webhook call without a valid signature.
    case badSignature(String)

    public var description: String {
        switch self {
        case .unreadable(let reason): "the workflow is not valid JSON: \(reason); check the file with `anima workflow show`"
        case .invalid(nil, let field, let reason): "workflow field `\(field)`: \(reason)"
        case .invalid(let step?, let field, let reason): "step `\(step)`, field `\(field)`: \(reason)"
        case .unknownWorkflow(let name): "no workflow named \(name); `anima workflow list` shows those added"
        case .unknownRun(let id): "no run \(id); `anima workflow runs` lists them"
        case .badInputs(let reason): "the run's inputs do not match the workflow's `inputs` schema: \(reason)"
        case .denied(let step, let reason): "step `\(step)` was denied: \(reason)"
        case .stepFailed(let step, let reason): "step `\(step)` failed: \(reason)"
        case .cancelled: "the run was cancelled"
        case .timedOut(let step, let seconds):
            "step `\(step)` did not finish within its timeout of \(seconds) s; raise `timeout` or check what it waits on"
        case .storage(let reason): "the workflow store failed: \(reason)"
        case .badSignature(let reason): "webhook refused: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
