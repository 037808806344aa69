import AnimaCore

/// What a task may do: the side-effecting tools its request calls for, fixed before the
/// agent reads any untrusted text, so an instruction hidden in that text cannot choose an
/// action.
///
/// It comes from the user's words and the tool list alone: given explicitly (an agent
/// spec's `actions`, `anima run --allow`), or decided by the privileged model in one
/// structured-output step before the first untrusted text (see `schema` and `prompt`).
/// Once untrusted text is in the context, the policy engine asks (or denies) a
/// side-effecting call outside the set. An action may also fix argument values the
/// user's words give, and name the sources the user pointed to ("pay the bill in this
/// file"): values read from those may feed the action.
///
/// ```json
/// {"actions": [
///   {"tool": "bank__send_money", "arguments": {"recipient": "Ada Lovelace"}, "from": ["files__read_file"]}
/// ]}
/// ```
public struct ActionSet: Sendable, Hashable, CustomStringConvertible {
    /// One action the task calls for.
    public struct Action: Sendable, Hashable {
        /// A tool name, or a glob (`mail__*`, `*`) where given explicitly.
        public var tool: String
        /// Argument values the user's words fix, by argument path.
        public var arguments: [String: JSONValue]
        /// Tools whose output the user pointed to as the source of this action's values.
        public var from: Set<String>

        public init(tool: String, arguments: [String: JSONValue] = [:], from: Set<String> = []) {
            self.tool = tool
            self.arguments = arguments
            self.from = from
        }

        /// Whether this action covers a call to `name`.
        public func covers(_ name: String) -> Bool { ActionSet.glob(tool, matches: name) }
    }

    /// Who fixed the set.
    public enum Origin: String, Sendable, Hashable {
        /// The agent spec or the command line.
        case explicit
        /// The privileged model, from the user's words and the tool list.
        case model
    }

    public var actions: [Action]
    public var origin: Origin

    public init(_ actions: [Action], origin: Origin = .explicit) {
        self.actions = actions
        self.origin = origin
    }

    /// An explicit set of tool names or globs (`--allow send_email,files__*`); an entry
    /// that is not a selector (see `ActionSelector`) names no tool and grants nothing.
    public init(tools: [String]) {
        self.init(
            tools.map { text in
                (try? ActionSelector(parsing: text)).map { Action(tool: $0.tool, arguments: $0.arguments) } ?? Action(tool: text)
            })
    }

    /// An explicit set of selectors, with the values they fix (`bank__send_money(recipient=alice)`).
    public init(selectors: [String]) throws(ActionSetError) {
        var actions: [Action] = []
        for text in selectors {
            let selector = try ActionSelector(parsing: text)
            actions.append(Action(tool: selector.tool, arguments: selector.arguments))
        }
        self.init(actions)
    }

    /// This set with the actions of `later` added: what a later turn of the user's own
    /// words calls for (see `ProvenanceLedger.extend`).
    public func adding(_ later: ActionSet) -> ActionSet {
        var set = self
        for action in later.actions where !set.actions.contains(action) { set.actions.append(action) }
        return set
    }

    /// The actions that cover a call to `tool`.
    public func actions(for tool: String) -> [Action] { actions.filter { $0.covers(tool) } }

    /// The tools only, with the names of fixed arguments: values stay out of the audit log.
    public var description: String {
        actions.isEmpty
            ? "no side-effecting action"
            : actions.map { $0.arguments.isEmpty ? $0.tool : "\($0.tool)(\($0.arguments.keys.sorted().joined(separator: ", ")) fixed)" }
                .joined(separator: ", ")
    }

    /// A name matches itself; a glob (`*`, `?`) as `ToolSelection` reads it everywhere.
    static func glob(_ pattern: String, matches name: String) -> Bool {
        ToolSelection.isGlob(pattern) ? ToolSelection.matches(pattern, name) : pattern == name
    }

    // MARK: - The privileged model's step

    /// The JSON Schema the privileged model answers under.
    public static let schema = try! JSONSchema([
        "type": "object",
        "properties": [
            "actions": [
                "type": "array",
                "items": [
                    "type": "object",
                    "properties": [
                        "tool": ["type": "string"], "arguments": ["type": "object"],
                        "from": ["type": "array", "items": ["type": "string"]],
                    ],
                    "required": ["tool"],
                ],
            ]
        ],
        "required": ["actions"],
    ])

    /// The system prompt of the step: the side-effecting tools, and what to answer.
    public static func prompt(tools: [ToolDefinition], readers: [ToolDefinition]) -> String {
        let list = tools.map { "- \($0.name): \($0.description)" }.joined(separator: "\n")
        let sources = readers.map { "- \($0.name): \($0.description)" }.joined(separator: "\n")
        return """
            Decide which of these side-effecting tools the user's request calls for. Answer with one JSON \
            object: {"actions": [{"tool": NAME, "arguments": {ARG: VALUE}, "from": [READER]}]}. List a tool \
            only if the user's own words ask for that action. In "arguments" put only values the user wrote. \
            In "from" put the reading tools whose output the user points to as the source of the action's \
            values ("pay the bill in this file", "reply to the sender of the last email"). No action: {"actions": []}.
            Side-effecting tools:
            \(list)
            Reading tools:
            \(sources.isEmpty ? "(none)" : sources)
            """
    }

    /// Parses the model's answer, keeping only tools of `known` (a name the model made up
    /// grants nothing) and sources of `readers`.
    public init(modelAnswer text: String, known: Set<String>, readers: Set<String>) throws(ActionSetError) {
        let value: JSONValue
        do { value = try JSONValue(parsing: text) } catch { throw ActionSetError("the action set is not JSON: \(error)") }
        guard let items = value["actions"]?.arrayValue else { throw ActionSetError("the action set needs \"actions\", an array") }
        var actions: [Action] = []
        for item in items {
            guard let tool = item["tool"]?.stringValue else { throw ActionSetError("an action needs \"tool\", a name") }
            guard known.contains(tool) else { continue }
            var arguments: [String: JSONValue] = [:]
            if case .object(let object)? = item["arguments"] {
                for (key, value) in object where value != .null { arguments[key] = value }
            }
            let from = Set((item["from"]?.arrayValue ?? []).compactMap(\.stringValue).filter { readers.contains($0) })
            actions.append(Action(tool: tool, arguments: arguments, from: from))
        }
        self.init(actions, origin: .model)
    }
}

/// An action set that cannot be used, and why.
public struct ActionSetError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
