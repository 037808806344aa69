/// The kind of agent a subtask needs; each gets only the tools and groups its kind needs.
public enum Specialist: String, Sendable, Hashable, Codable, CaseIterable {
    /// Writes code until the acceptance tests pass (`RefineLoop`), in the sandbox.
    case coder
    /// Writes tests from the requirements.
    case tester
    /// Looks things up: the only kind that may reach the network.
    case researcher
    /// Writes prose from what the others produced.
    case writer

    /// The groups a subtask of this kind runs with (at most its owner's): a researcher may
    /// hold `net`; nothing else holds any.
    public var groups: Set<String> {
        switch self {
        case .researcher: ["net"]
        case .coder, .tester, .writer: []
        }
    }

    /// Tools this kind may be given; a plan that gives it others is refused.
    public var allowedTools: Set<String> {
        switch self {
        case .researcher: ["web_fetch", "web_search", "calculator"]
        case .coder, .tester: ["python", "calculator"]
        case .writer: ["calculator"]
        }
    }

    /// What the planner is told this kind does.
    var duty: String {
        switch self {
        case .coder: "writes one Python file that must pass tests"
        case .tester: "writes tests"
        case .researcher: "looks facts up"
        case .writer: "writes prose"
        }
    }

    var instructions: String {
        switch self {
        case .coder: "You are a careful Python programmer."
        case .tester: "You write small, exact Python tests with plain assert statements."
        case .researcher: "You find facts and report them briefly, citing where they came from."
        case .writer: "You write clear, short prose for a person."
        }
    }
}
