import AnimaCore

/// What the privileged planner of dual-LLM mode writes: tool calls and extractions over
/// opaque variables, and the answer, decided before any untrusted text is read.
///
/// ```json
/// {"steps": [
///    {"call": "fetch", "arguments": {"url": "https://news.example"}, "output": "page"},
///    {"extract": "page", "instruction": "the headline", "schema": {"type": "string"}, "output": "headline"},
///    {"call": "send_email", "arguments": {"to": "bob@example.com", "body": {"$var": "headline"}}}
///  ],
///  "answer": "Sent bob the headline: $headline"}
/// ```
///
/// The planner never sees a variable's value, only its name; `{"$var": name}` in an
/// argument and `$name` in the answer are filled in when the plan runs. Every variable
/// must be defined by an earlier step, so a plan is checked whole before anything runs.
public struct Plan: Sendable, Hashable {
    public enum Step: Sendable, Hashable {
        /// Call a tool; its output text goes into `output`, if named.
        case call(tool: String, arguments: JSONValue, output: String?)
        /// Have the quarantined model pull a value matching `schema` out of a variable.
        case extract(from: String, instruction: String, schema: JSONSchema, output: String)
    }

    public var steps: [Step]
    public var answer: String

    /// The JSON Schema a planner's output is generated under.
    public static let schema = try! JSONSchema([
        "type": "object",
        "properties": [
            "steps": [
                "type": "array",
                "items": [
                    "type": "object",
                    "properties": [
                        "call": ["type": "string"], "arguments": ["type": "object"], "output": ["type": "string"],
                        "extract": ["type": "string"], "instruction": ["type": "string"], "schema": ["type": "object"],
                    ],
                ],
            ],
            "answer": ["type": "string"],
        ],
        "required": ["steps", "answer"],
    ])

    /// Parses and checks a plan; the error names the step and what is wrong with it.
    public init(json text: String) throws(PlanError) {
        let value: JSONValue
        do { value = try JSONValue(parsing: text) } catch { throw PlanError("the plan is not JSON: \(error)") }
        guard let steps = value["steps"]?.arrayValue, let answer = value["answer"]?.stringValue else {
            throw PlanError("the plan needs \"steps\" (an array) and \"answer\" (a string)")
        }
        var defined: Set<String> = []
        var parsed: [Step] = []
        for (i, step) in steps.enumerated() {
            let at = "step \(i + 1)"
            if let tool = step["call"]?.stringValue {
                let arguments = step["arguments"] ?? .object([:])
                guard case .object = arguments else { throw PlanError("\(at): arguments must be an object") }
                for name in Self.variables(in: arguments) where !defined.contains(name) {
                    throw PlanError("\(at) uses $\(name) before any step defines it")
                }
                let output = step["output"]?.stringValue
                if let output { try Self.checkName(output, at: at); defined.insert(output) }
                parsed.append(.call(tool: tool, arguments: arguments, output: output))
            } else if let source = step["extract"]?.stringValue {
                guard defined.contains(source) else { throw PlanError("\(at) extracts from $\(source) before any step defines it") }
                guard let output = step["output"]?.stringValue else { throw PlanError("\(at): an extraction needs an output name") }
                try Self.checkName(output, at: at)
                let schema: JSONSchema
                do { schema = try JSONSchema(step["schema"] ?? ["type": "string"]) } catch {
                    throw PlanError("\(at): the schema is not valid: \(error)")
                }
                parsed.append(.extract(from: source, instruction: step["instruction"]?.stringValue ?? "", schema: schema, output: output))
                defined.insert(output)
            } else {
                throw PlanError("\(at) is neither a call nor an extraction")
            }
        }
        self.steps = parsed
        self.answer = answer
    }

    /// `arguments` with each `{"$var": name}` replaced by the variable's value.
    public static func resolve(_ arguments: JSONValue, _ variables: [String: JSONValue]) throws(PlanError) -> JSONValue {
        switch arguments {
        case .object(let object):
            if object.count == 1, let name = object["$var"]?.stringValue {
                guard let value = variables[name] else { throw PlanError("$\(name) has no value") }
                return value
            }
            var out = JSONObject()
            for (key, value) in object { out[key] = try resolve(value, variables) }
            return .object(out)
        case .array(let items):
            var out: [JSONValue] = []
            for item in items { out.append(try resolve(item, variables)) }
            return .array(out)
        default:
            return arguments
        }
    }

    /// `text` with each `$name` of a defined variable replaced by its value.
    public static func fill(_ text: String, _ variables: [String: JSONValue]) -> String {
        var out = text
        for name in variables.keys.sorted(by: { $0.count > $1.count }) {
            let value = variables[name]!
            out = out.replacingAll("$" + name, with: value.text)
        }
        return out
    }

    /// The names of the variables `value` refers to with `{"$var": name}`.
    public static func variables(in value: JSONValue) -> [String] {
        switch value {
        case .object(let object):
            if object.count == 1, let name = object["$var"]?.stringValue { return [name] }
            return object.flatMap { variables(in: $0.value) }
        case .array(let items): return items.flatMap(variables(in:))
        default: return []
        }
    }

    private static func checkName(_ name: String, at: String) throws(PlanError) {
        let ok = !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") } && !name.first!.isNumber
        guard ok else { throw PlanError("\(at): \"\(name)\" is not a variable name (letters, digits, _)") }
    }
}

/// A plan that cannot run, and why.
public struct PlanError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
