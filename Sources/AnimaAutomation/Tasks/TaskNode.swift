import AnimaCore

/// One subtask of a task graph: what to do, which specialist does it, what it takes from
/// earlier subtasks and the JSON Schema its result must match when it is handed on.
public struct TaskNode: Sendable, Hashable, Codable {
    /// Letters, digits, `_` and `-`; unique in its graph.
    public var id: String
    public var role: Specialist
    /// What this subtask must achieve, in words a specialist can act on.
    public var goal: String
    /// Subtasks whose results this one takes as input (and so waits for).
    public var inputs: [String]
    /// The JSON Schema of its result; the orchestrator checks every handoff against it.
    public var output: JSONValue
    /// Tools it may call; at most its specialist's `allowedTools`.
    public var tools: [String]
    /// For a coder: the file it writes (`solution.py` by default).
    public var module: String?
    /// For a coder: acceptance tests (Python, `test_*` functions), written before any code
    /// exists; the coder's sandbox sees them read-only. Nil: the orchestrator writes them.
    public var tests: String?

    public init(
        id: String, role: Specialist, goal: String, inputs: [String] = [], output: JSONValue? = nil, tools: [String] = [],
        module: String? = nil, tests: String? = nil
    ) {
        self.id = id
        self.role = role
        self.goal = goal
        self.inputs = inputs
        self.output = output ?? (role == .coder ? Self.coderOutput : ["type": "string"])
        self.tools = tools
        self.module = module
        self.tests = tests
    }

    /// What a coder hands on: its file and how its tests went.
    public static let coderOutput: JSONValue = [
        "type": "object",
        "properties": [
            "module": ["type": "string"], "code": ["type": "string"], "passed": ["type": "integer", "minimum": 0],
            "total": ["type": "integer", "minimum": 0],
        ],
        "required": ["module", "code", "passed", "total"],
    ]

    public var moduleName: String { module ?? "solution.py" }
}
