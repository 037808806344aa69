import AnimaCore
import Foundation

/// Where a task or one of its subtasks is.
public enum TaskState: String, Sendable, Hashable, Codable {
    case planning, pending, running, retrying, passed, failed, killed
}

/// A macro task as stored: its goal, graph, state and outcome.
public struct TaskRecord: Sendable, Hashable {
    public var id: String
    public var owner: String
    public var goal: String
    public var state: TaskState
    public var graph: TaskGraph?
    public var nodes: [NodeRecord]
    /// The orchestrator's process, while it runs.
    public var pid: Int?
    /// The final answer or the failure report with what was tried.
    public var report: String?
    /// The user's verdict: +1, -1 or nil.
    public var rating: Int?
    public var created: Date
    public var updated: Date
}

/// A subtask as stored: its state, attempts and measured outcome.
public struct NodeRecord: Sendable, Hashable {
    public var task: String
    public var id: String
    public var role: Specialist
    public var state: TaskState
    public var attempts: Int
    public var pid: Int?
    /// Its handoff value.
    public var output: JSONValue?
    /// The measured outcome: tests passed and total, the checker's verdict, the rating.
    public var outcome: JSONValue?
    public var error: String?
    public var rating: Int?
    public var updated: Date
}
