import AnimaCore
import AnimaSecurity

/// A question the kernel puts to a person: may this tool call run?
///
/// It shows the call, each argument and where it came from; values are shown to the
/// person asked (the agent's owner) and never written to the audit log.
public struct ApprovalRequest: Sendable, Hashable {
    /// One argument as the person sees it.
    public struct Argument: Sendable, Hashable {
        /// Its path: `to`, `items[0].name`.
        public var path: String
        public var value: String
        /// Where it came from: `user`, `tool:mail__list_emails`, `web`.
        public var sources: [String]
        public var isTrusted: Bool
    }

    /// Answers name it; unguessable, so only those who saw the question can answer.
    public var id: String
    public var pid: PID
    public var owner: String
    public var tool: String
    public var arguments: [Argument]
    /// Why the call needs a yes.
    public var reason: String

    init(id: String, confirmation: Confirmation) {
        self.id = id
        pid = confirmation.pid
        owner = confirmation.owner
        tool = confirmation.call.name
        reason = confirmation.reason
        arguments = confirmation.arguments.map {
            Argument(path: $0.path, value: $0.value, sources: $0.label.sources.sorted().map(\.description), isTrusted: $0.label.isTrusted)
        }
    }

    /// The question as text for a terminal or a dialog. Values are quoted as JSON strings
    /// and cut at 200 characters, so a hostile value cannot move the cursor, clear the
    /// screen or pass itself off as the question.
    public var question: String {
        var lines = ["Agent \(pid) (\(owner)) wants to call \(tool):"]
        for argument in arguments {
            let value = argument.value.count > 200 ? String(argument.value.prefix(200)) + "…" : argument.value
            lines.append(
                "  \(JSONValue.string(argument.path).jsonText) = \(JSONValue.string(value).jsonText)   from \(argument.sources.joined(separator: ", "))"
                    + (argument.isTrusted ? "" : " (untrusted)"))
        }
        if arguments.isEmpty { lines.append("  (no arguments)") }
        lines.append("It needs your yes because: \(JSONValue.string(reason).jsonText.dropFirst().dropLast())")
        return lines.joined(separator: "\n")
    }

    /// The request for an event stream or an API client.
    public var json: JSONValue {
        [
            "id": .string(id), "pid": .number(Double(pid.rawValue)), "tool": .string(tool), "reason": .string(reason),
            "question": .string(question),
            "arguments": .array(
                arguments.map {
                    [
                        "path": .string($0.path), "value": .string($0.value), "sources": .array($0.sources.map { .string($0) }),
                        "trusted": .bool($0.isTrusted),
                    ]
                }),
        ]
    }
}

/// Why an answer to an approval request was not taken.
public enum ApprovalError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No such question is waiting (never asked, or asked of another user's agent).
    case unknown(String)
    /// It was answered already, or no one answered in time.
    case alreadyAnswered(String)

    public var description: String {
        switch self {
        case .unknown(let id): "no approval request \(id) is waiting for this agent; list them at GET /anima/v1/processes/PID/approvals"
        case .alreadyAnswered(let id): "approval request \(id) was already answered (or timed out); each request takes one answer"
        }
    }
}
