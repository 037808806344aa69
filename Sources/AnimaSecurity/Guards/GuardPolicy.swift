import AnimaCore

/// What a guard does about each category of finding, on the way into the model (tool
/// output, fetched pages, files) and on the way out (the model's text, tool arguments).
public struct GuardPolicy: Sendable, Hashable {
    /// Ordered from mildest to strongest; a text's verdict is its strongest finding's.
    public enum Action: String, Sendable, Hashable, Comparable, CaseIterable {
        /// Record the verdict; change nothing.
        case allow
        /// Replace what was found with a marker (invisible characters are removed).
        case redact
        /// Go ahead only if the user confirms.
        case ask
        /// Refuse the text.
        case block

        public static func < (a: Action, b: Action) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }

    public enum Direction: String, Sendable, Hashable {
        /// Untrusted text about to enter the model's context.
        case input
        /// What the model produced: its answer, its tool calls' arguments.
        case output
    }

    public var input: [GuardCategory: Action]
    public var output: [GuardCategory: Action]
    /// Where the guard model reads text, if the monitor has one: nowhere by default
    /// (key `model`: `{"on": ["input", "output"]}`). What its findings lead to is the
    /// `model` category's action (block by default).
    public var modelDirections: Set<Direction> = []

    public init(input: [GuardCategory: Action], output: [GuardCategory: Action]) {
        self.input = input
        self.output = output
    }

    /// Incoming text: secrets and invisible characters are redacted, the rest recorded.
    /// Outgoing text: a canary blocks, secrets and exfiltration links are redacted,
    /// dangerous code needs a yes.
    public static let standard = GuardPolicy(
        input: [
            .secret: .redact, .invisibleUnicode: .redact, .pii: .allow, .injection: .allow, .canary: .allow, .dangerousCode: .allow,
            .exfiltration: .allow, .model: .block,
        ],
        output: [
            .secret: .redact, .invisibleUnicode: .redact, .pii: .allow, .injection: .allow, .canary: .block, .dangerousCode: .ask,
            .exfiltration: .redact, .model: .block,
        ])

    public func action(for category: GuardCategory, _ direction: Direction) -> Action {
        (direction == .input ? input : output)[category] ?? .allow
    }

    /// Reads `{"input": {"secret": "redact", ...}, "output": {...}}` over `standard`.
    init(json value: JSONValue) throws(PolicyError) {
        self = .standard
        guard case .object(let object) = value else { throw PolicyError("\"guards\" must be an object with input and output") }
        for (key, table) in object {
            if key == "model" {
                guard case .object(let model) = table, model.keys.allSatisfy({ $0 == "on" }),
                    let on = model["on"]?.arrayValue, on.allSatisfy({ $0.stringValue.flatMap(Direction.init(rawValue:)) != nil })
                else { throw PolicyError("guards.model must be {\"on\": [\"input\", \"output\"]} (either or both)") }
                modelDirections = Set(on.compactMap { $0.stringValue.flatMap(Direction.init(rawValue:)) })
                continue
            }
            guard let direction = Direction(rawValue: key) else {
                throw PolicyError("guards has an unknown key \"\(key)\"; use input, output or model")
            }
            guard case .object(let entries) = table else { throw PolicyError("guards.\(key) must be an object of categories") }
            for (name, action) in entries {
                guard let category = GuardCategory(rawValue: name) else {
                    throw PolicyError(
                        "guards.\(key) has an unknown category \"\(name)\"; use \(GuardCategory.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                guard let a = action.stringValue.flatMap(Action.init(rawValue:)) else {
                    throw PolicyError("guards.\(key).\(name) must be one of allow, redact, ask, block")
                }
                if direction == .input { input[category] = a } else { output[category] = a }
            }
        }
    }
}
