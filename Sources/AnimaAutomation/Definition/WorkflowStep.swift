import AnimaCore
import Foundation

/// One named step of a workflow: what it does, how often it may be retried and for how long it may run.
///
/// Leaf steps (agent, tool, MCP, HTTP, wait, sub-workflow, approval) are recorded durably one by
/// one; condition and loop steps hold other steps and are replayed from their recorded results.
public struct WorkflowStep: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// An agent process owned by the run's owner, with its tools, groups, memory and model preference.
        case agent(task: JSONValue, tools: [String], groups: Set<String>?, memory: String?, model: String?)
        /// A kernel tool, by name.
        case tool(name: String, arguments: JSONValue)
        /// A tool of a configured MCP server (the kernel names it `server__tool`).
        case mcp(server: String, tool: String, arguments: JSONValue)
        /// An HTTP request; needs the `net` group.
        case http(method: String, url: JSONValue, headers: JSONValue, body: JSONValue?)
        case condition(WorkflowCondition, then: [WorkflowStep], otherwise: [WorkflowStep])
        /// The inner steps once per item of a list, the item bound to `as`.
        case loop(over: JSONValue, as: String, steps: [WorkflowStep])
        case wait(seconds: Double)
        /// Another added workflow, run as a child run.
        case workflow(name: String, inputs: JSONValue)
        /// Stops the run until a person approves or rejects it.
        case approval(prompt: JSONValue)

        public var name: String {
            switch self {
            case .agent: "agent"
            case .tool: "tool"
            case .mcp: "mcp"
            case .http: "http"
            case .condition: "condition"
            case .loop: "loop"
            case .wait: "wait"
            case .workflow: "workflow"
            case .approval: "approval"
            }
        }

        static let names = ["agent", "tool", "mcp", "http", "condition", "loop", "wait", "workflow", "approval"]
    }

    public var id: String
    public var kind: Kind
    public var retry: RetryPolicy
    /// Longest one attempt may take; nil: no limit.
    public var timeout: Double?
    /// The schema the step's output must match (its type).
    public var outputSchema: JSONSchema?

    public init(id: String, kind: Kind, retry: RetryPolicy = .none, timeout: Double? = nil, outputSchema: JSONSchema? = nil) {
        self.id = id
        self.kind = kind
        self.retry = retry
        self.timeout = timeout
        self.outputSchema = outputSchema
    }

    /// Steps inside this one (condition branches, loop body).
    public var children: [WorkflowStep] {
        switch kind {
        case .condition(_, let a, let b): a + b
        case .loop(_, _, let steps): steps
        default: []
        }
    }
}

/// How often a failed step is tried again, and how long to wait between tries.
public struct RetryPolicy: Sendable, Hashable {
    /// Tries in all, the first included.
    public var attempts: Int
    /// Seconds before the second try; doubled for each later one, up to `maxBackoff`.
    public var backoff: Double
    public var maxBackoff: Double

    public init(attempts: Int, backoff: Double = 1, maxBackoff: Double = 60) {
        self.attempts = attempts
        self.backoff = backoff
        self.maxBackoff = maxBackoff
    }

    public static let none = RetryPolicy(attempts: 1, backoff: 0)

    /// Seconds to wait after the failed try number `attempt` (1-based).
    public func delay(after attempt: Int) -> Double {
        min(maxBackoff, backoff * pow(2, Double(max(0, attempt - 1))))
    }
}

/// A condition on the run's values: a value's truth, a comparison, or a combination.
public indirect enum WorkflowCondition: Sendable, Hashable {
    /// True unless the value is false, null, 0, "" or empty.
    case truthy(JSONValue)
    case compare(String, JSONValue, JSONValue)
    case not(WorkflowCondition)
    case all([WorkflowCondition])
    case any([WorkflowCondition])

    static let operators = ["eq", "ne", "lt", "le", "gt", "ge", "contains"]
}
