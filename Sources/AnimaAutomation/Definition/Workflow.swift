import AnimaCore
import Foundation

/// A workflow: a versioned, named list of steps with typed inputs and outputs, and the triggers
/// that start it. It is data (a JSON file checked against contrib/workflows/workflow.schema.json).
///
/// A run acts as the workflow's owner with the groups the file asks for, never more than the
/// owner holds (see `WorkflowEngine`).
public struct Workflow: Sendable, Hashable {
    public var name: String
    public var version: Int
    public var description: String
    /// Schema of the run's inputs (an object); nil accepts any object.
    public var inputs: JSONSchema?
    /// The run's output, built from the steps' values by reference; nil: the last step's output.
    public var output: JSONValue?
    public var outputSchema: JSONSchema?
    /// Groups the run asks for; it gets at most its owner's.
    public var groups: Set<String>
    public var steps: [WorkflowStep]
    public var triggers: [WorkflowTrigger]
    /// The file as given, kept so a run replays the version it started with.
    public var source: JSONValue

    /// Parses and checks a workflow file; errors name the step and the field.
    public init(parsing text: String) throws(WorkflowError) {
        let json: JSONValue
        do {
            json = try JSONValue(parsing: text)
        } catch {
            throw .unreadable("\(error)")
        }
        try self.init(json)
    }

    public init(_ json: JSONValue) throws(WorkflowError) {
        guard let object = json.objectValue else { throw .invalid(step: nil, field: "(file)", reason: "must be a JSON object") }
        let top = Fields(object, step: nil)
        try top.allow(["$schema", "name", "version", "description", "inputs", "output", "output_schema", "groups", "steps", "triggers"])
        name = try top.string("name")
        guard Self.isName(name) else {
            throw .invalid(step: nil, field: "name", reason: "`\(name)` must be 1-64 letters, digits, `-` or `_`")
        }
        version = try top.optionalInt("version") ?? 1
        guard version >= 1 else { throw .invalid(step: nil, field: "version", reason: "must be 1 or more") }
        description = try top.optionalString("description") ?? ""
        inputs = try top.optionalSchema("inputs")
        output = object["output"]
        outputSchema = try top.optionalSchema("output_schema")
        groups = Set(try top.optionalStrings("groups") ?? [])
        guard let stepValues = object["steps"]?.arrayValue, !stepValues.isEmpty else {
            throw .invalid(step: nil, field: "steps", reason: "must be a non-empty array of steps")
        }
        var seen = Set<String>()
        steps = try Self.parseSteps(stepValues, field: "steps", seen: &seen)
        triggers = try (object["triggers"]?.arrayValue ?? []).enumerated().map { (i, value) throws(WorkflowError) in
            try Self.parseTrigger(value, index: i)
        }
        if let raw = object["triggers"], raw.arrayValue == nil {
            throw .invalid(step: nil, field: "triggers", reason: "must be an array")
        }
        source = json
    }

    /// Every step, nested ones included, in file order.
    public var allSteps: [WorkflowStep] {
        func flatten(_ steps: [WorkflowStep]) -> [WorkflowStep] { steps.flatMap { [$0] + flatten($0.children) } }
        return flatten(steps)
    }

    static func isName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 64 && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }

    static func parseSteps(_ values: [JSONValue], field: String, seen: inout Set<String>) throws(WorkflowError) -> [WorkflowStep] {
        var steps: [WorkflowStep] = []
        for (i, value) in values.enumerated() {
            guard let object = value.objectValue else {
                throw .invalid(step: nil, field: "\(field)[\(i)]", reason: "a step must be an object with `id` and `type`")
            }
            guard let id = object["id"]?.stringValue, isName(id) else {
                throw .invalid(
                    step: nil, field: "\(field)[\(i)].id", reason: "every step needs an `id` of 1-64 letters, digits, `-` or `_`")
            }
            guard seen.insert(id).inserted else { throw .invalid(step: id, field: "id", reason: "another step already has this id") }
            steps.append(try parseStep(Fields(object, step: id), seen: &seen))
        }
        return steps
    }

    static func parseStep(_ f: Fields, seen: inout Set<String>) throws(WorkflowError) -> WorkflowStep {
        let common = ["id", "type", "retry", "timeout", "output_schema", "description"]
        let type = try f.string("type")
        let kind: WorkflowStep.Kind
        switch type {
        case "agent":
            try f.allow(common + ["task", "tools", "groups", "memory", "model"])
            kind = .agent(
                task: try f.required("task"), tools: try f.optionalStrings("tools") ?? [],
                groups: try f.optionalStrings("groups").map(Set.init), memory: try f.optionalString("memory"),
                model: try f.optionalString("model"))
        case "tool":
            try f.allow(common + ["tool", "arguments"])
            kind = .tool(name: try f.string("tool"), arguments: try f.optionalObject("arguments") ?? .object([:]))
        case "mcp":
            try f.allow(common + ["server", "tool", "arguments"])
            kind = .mcp(
                server: try f.string("server"), tool: try f.string("tool"), arguments: try f.optionalObject("arguments") ?? .object([:]))
        case "http":
            try f.allow(common + ["method", "url", "headers", "body"])
            let method = (try f.optionalString("method") ?? "GET").uppercased()
            guard ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"].contains(method) else {
                throw .invalid(step: f.step, field: "method", reason: "`\(method)` is not one of GET, POST, PUT, PATCH, DELETE, HEAD")
            }
            let url = try f.required("url")
            if let literal = url.stringValue, !literal.contains("${") {
                guard let parsed = URL(string: literal), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host != nil
                else { throw .invalid(step: f.step, field: "url", reason: "`\(literal)` is not an http or https URL") }
            }
            kind = .http(method: method, url: url, headers: try f.optionalObject("headers") ?? .object([:]), body: f.object["body"])
        case "condition":
            try f.allow(common + ["if", "then", "else"])
            let condition = try parseCondition(try f.required("if"), step: f.step, field: "if")
            let then = try parseSteps(try f.array("then"), field: "then", seen: &seen)
            let otherwise = try parseSteps(f.object["else"]?.arrayValue ?? [], field: "else", seen: &seen)
            kind = .condition(condition, then: then, otherwise: otherwise)
        case "loop":
            try f.allow(common + ["over", "as", "steps"])
            let name = try f.optionalString("as") ?? "item"
            guard isName(name), !["inputs", "steps", "run", "step"].contains(name) else {
                throw .invalid(step: f.step, field: "as", reason: "`\(name)` must be a name other than inputs, steps, run or step")
            }
            let body = try f.array("steps")
            guard !body.isEmpty else { throw .invalid(step: f.step, field: "steps", reason: "a loop needs at least one step") }
            kind = .loop(over: try f.required("over"), as: name, steps: try parseSteps(body, field: "steps", seen: &seen))
        case "wait":
            try f.allow(common + ["seconds"])
            let seconds = try f.number("seconds")
            guard seconds >= 0, seconds <= 366 * 86400 else {
                throw .invalid(step: f.step, field: "seconds", reason: "must be between 0 and one year (31622400)")
            }
            kind = .wait(seconds: seconds)
        case "workflow":
            try f.allow(common + ["workflow", "inputs"])
            let name = try f.string("workflow")
            guard isName(name) else { throw .invalid(step: f.step, field: "workflow", reason: "`\(name)` is not a workflow name") }
            kind = .workflow(name: name, inputs: try f.optionalObject("inputs") ?? .object([:]))
        case "approval":
            try f.allow(common + ["prompt"])
            kind = .approval(prompt: try f.required("prompt"))
        default:
            throw .invalid(
                step: f.step, field: "type",
                reason: "`\(type)` is not a step type; use one of \(WorkflowStep.Kind.names.joined(separator: ", "))")
        }
        var retry = RetryPolicy.none
        if let r = f.object["retry"] {
            guard let o = r.objectValue else { throw .invalid(step: f.step, field: "retry", reason: "must be an object") }
            let rf = Fields(o, step: f.step, prefix: "retry.")
            try rf.allow(["attempts", "backoff", "max_backoff"])
            let attempts = try rf.optionalInt("attempts") ?? 3
            guard (1...100).contains(attempts) else { throw .invalid(step: f.step, field: "retry.attempts", reason: "must be 1 to 100") }
            let backoff = try rf.optionalNumber("backoff") ?? 1
            let maxBackoff = try rf.optionalNumber("max_backoff") ?? 60
            guard (0...3600).contains(backoff), (0...86400).contains(maxBackoff) else {
                throw .invalid(step: f.step, field: "retry.backoff", reason: "backoff must be 0-3600 s and max_backoff 0-86400 s")
            }
            retry = RetryPolicy(attempts: attempts, backoff: backoff, maxBackoff: maxBackoff)
        }
        let timeout = try f.optionalNumber("timeout")
        if let timeout, !(timeout > 0 && timeout <= 7 * 86400) {
            throw .invalid(step: f.step, field: "timeout", reason: "must be more than 0 and at most a week (604800 s)")
        }
        return WorkflowStep(
            id: f.step ?? "", kind: kind, retry: retry, timeout: timeout, outputSchema: try f.optionalSchema("output_schema"))
    }

    static func parseCondition(_ value: JSONValue, step: String?, field: String) throws(WorkflowError) -> WorkflowCondition {
        guard let o = value.objectValue, o.count == 1, let key = o.keys.first, let inner = o[key] else { return .truthy(value) }
        switch key {
        case "not": return .not(try parseCondition(inner, step: step, field: "\(field).not"))
        case "all", "any":
            guard let items = inner.arrayValue else {
                throw .invalid(step: step, field: "\(field).\(key)", reason: "must be an array of conditions")
            }
            var parts: [WorkflowCondition] = []
            for (i, item) in items.enumerated() { parts.append(try parseCondition(item, step: step, field: "\(field).\(key)[\(i)]")) }
            return key == "all" ? .all(parts) : .any(parts)
        case let op where WorkflowCondition.operators.contains(op):
            guard let pair = inner.arrayValue, pair.count == 2 else {
                throw .invalid(step: step, field: "\(field).\(op)", reason: "must be an array of two values to compare")
            }
            return .compare(op, pair[0], pair[1])
        default:
            throw .invalid(
                step: step, field: "\(field).\(key)",
                reason: "unknown condition; use not, all, any or one of \(WorkflowCondition.operators.joined(separator: ", "))")
        }
    }

    static func parseTrigger(_ value: JSONValue, index: Int) throws(WorkflowError) -> WorkflowTrigger {
        let field = "triggers[\(index)]"
        guard let o = value.objectValue else { throw .invalid(step: nil, field: field, reason: "a trigger must be an object with `type`") }
        let f = Fields(o, step: nil, prefix: "\(field).")
        switch try f.string("type") {
        case "cron":
            try f.allow(["type", "schedule", "time_zone"])
            let zone = try f.optionalString("time_zone") ?? "UTC"
            guard TimeZone(identifier: zone) != nil else {
                throw .invalid(step: nil, field: "\(field).time_zone", reason: "`\(zone)` is not a time zone name such as Europe/Paris")
            }
            do {
                return .cron(try CronSchedule(parsing: try f.string("schedule")), timeZone: zone)
            } catch let error as CronSchedule.ParseError {
                throw .invalid(step: nil, field: "\(field).schedule", reason: error.description)
            } catch let error as WorkflowError {
                throw error
            } catch {
                throw .invalid(step: nil, field: "\(field).schedule", reason: "\(error)")
            }
        case "webhook":
            try f.allow(["type"])
            return .webhook
        case "files":
            try f.allow(["type", "directory"])
            let directory = try f.string("directory")
            guard directory.hasPrefix("/") || directory.hasPrefix("~") else {
                throw .invalid(step: nil, field: "\(field).directory", reason: "must be an absolute path")
            }
            return .files(directory: directory)
        case "completion":
            try f.allow(["type", "workflow", "status"])
            let status = try f.optionalString("status") ?? "completed"
            guard ["completed", "failed", "cancelled", "any"].contains(status) else {
                throw .invalid(step: nil, field: "\(field).status", reason: "must be completed, failed, cancelled or any")
            }
            return .completion(workflow: try f.string("workflow"), status: status)
        case "mcp_resource":
            try f.allow(["type", "server", "uri"])
            let server = try f.string("server")
            guard !server.isEmpty, server.count <= 64, server.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw .invalid(
                    step: nil, field: "\(field).server", reason: "must be the name of a server in mcp.json (letters, digits, _ and -)")
            }
            let uri = try f.string("uri")
            guard !uri.isEmpty, uri.count <= 2048, uri.contains(":") else {
                throw .invalid(step: nil, field: "\(field).uri", reason: "must be a resource URI such as file:///notes/today.md")
            }
            return .resource(server: server, uri: uri)
        case "manual":
            return .manual
        case let other:
            throw .invalid(
                step: nil, field: "\(field).type",
                reason: "`\(other)` is not a trigger; use cron, webhook, files, completion, mcp_resource or manual")
        }
    }
}

/// Reads typed fields of one object of a workflow file, naming the step and field in errors.
struct Fields {
    let object: JSONObject
    let step: String?
    var prefix = ""

    init(_ object: JSONObject, step: String?, prefix: String = "") {
        self.object = object
        self.step = step
        self.prefix = prefix
    }

    func fail(_ key: String, _ reason: String) -> WorkflowError { .invalid(step: step, field: prefix + key, reason: reason) }

    func allow(_ keys: [String]) throws(WorkflowError) {
        for key in object.keys where !keys.contains(key) {
            throw fail(key, "unknown field; allowed here: \(keys.joined(separator: ", "))")
        }
    }

    func required(_ key: String) throws(WorkflowError) -> JSONValue {
        guard let v = object[key], v != .null else { throw fail(key, "is required") }
        return v
    }

    func string(_ key: String) throws(WorkflowError) -> String {
        let v = try required(key)
        guard let s = v.stringValue, !s.isEmpty else { throw fail(key, "must be a non-empty string, not \(v.typeName)") }
        return s
    }

    func optionalString(_ key: String) throws(WorkflowError) -> String? {
        guard object[key] != nil else { return nil }
        return try string(key)
    }

    func number(_ key: String) throws(WorkflowError) -> Double {
        let v = try required(key)
        guard let n = v.numberValue, n.isFinite else { throw fail(key, "must be a number, not \(v.typeName)") }
        return n
    }

    func optionalNumber(_ key: String) throws(WorkflowError) -> Double? {
        guard object[key] != nil else { return nil }
        return try number(key)
    }

    func optionalInt(_ key: String) throws(WorkflowError) -> Int? {
        guard let n = try optionalNumber(key) else { return nil }
        guard n == n.rounded(), abs(n) < 1e15 else { throw fail(key, "must be a whole number") }
        return Int(n)
    }

    func array(_ key: String) throws(WorkflowError) -> [JSONValue] {
        let v = try required(key)
        guard let a = v.arrayValue else { throw fail(key, "must be an array, not \(v.typeName)") }
        return a
    }

    func optionalStrings(_ key: String) throws(WorkflowError) -> [String]? {
        guard object[key] != nil else { return nil }
        let items = try array(key)
        return try items.map { (item) throws(WorkflowError) in
            guard let s = item.stringValue, !s.isEmpty else { throw fail(key, "must hold only non-empty strings") }
            return s
        }
    }

    func optionalObject(_ key: String) throws(WorkflowError) -> JSONValue? {
        guard let v = object[key] else { return nil }
        guard v.objectValue != nil else { throw fail(key, "must be an object, not \(v.typeName)") }
        return v
    }

    func optionalSchema(_ key: String) throws(WorkflowError) -> JSONSchema? {
        guard let v = object[key] else { return nil }
        do {
            return try JSONSchema(v)
        } catch {
            throw fail(key, "is not a JSON Schema Anima can check: \(error)")
        }
    }
}
