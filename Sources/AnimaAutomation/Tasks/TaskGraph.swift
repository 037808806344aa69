import AnimaCore
import Foundation

/// A macro task split into subtasks with dependencies: the orchestrator's plan.
///
/// `validate` is what makes a model's plan safe to run: unique ids, inputs that exist, no
/// cycles, output schemas that compile, and tools each specialist may hold.
public struct TaskGraph: Sendable, Hashable, Codable {
    public var goal: String
    public var nodes: [TaskNode]

    /// Most subtasks in one plan: a plan is read by a person and runs on one machine.
    public static let maxNodes = 16

    public init(goal: String, nodes: [TaskNode]) {
        self.goal = goal
        self.nodes = nodes
    }

    public subscript(id: String) -> TaskNode? { nodes.first { $0.id == id } }

    /// Checks the graph; `knownTools` are the tools the kernel has.
    public func validate(knownTools: Set<String>) throws(TaskError) {
        guard !nodes.isEmpty else { throw .invalidGraph("it has no subtasks") }
        guard nodes.count <= Self.maxNodes else {
            throw .invalidGraph("it has \(nodes.count) subtasks; at most \(Self.maxNodes) are allowed")
        }
        var ids = Set<String>()
        for node in nodes {
            guard !node.id.isEmpty, node.id.count <= 64,
                node.id.allSatisfy({ ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") && $0.isASCII })
            else {
                throw .invalidGraph("subtask id \"\(node.id.prefix(80))\" must be 1-64 letters, digits, _ or -")
            }
            guard ids.insert(node.id).inserted else { throw .invalidGraph("two subtasks are called \(node.id)") }
            guard !node.goal.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw .invalidGraph("subtask \(node.id) has no goal")
            }
            do {
                _ = try JSONSchema(node.output)
            } catch {
                throw .invalidGraph("subtask \(node.id)'s output schema does not compile: \(error)")
            }
            for tool in node.tools {
                guard knownTools.contains(tool) else {
                    throw .invalidGraph("subtask \(node.id) needs the tool \(tool), which this kernel does not have")
                }
                guard node.role.allowedTools.contains(tool) else {
                    throw .invalidGraph("subtask \(node.id) is a \(node.role.rawValue), which may not use \(tool)")
                }
            }
            if let module = node.module {
                guard module.hasSuffix(".py"), !module.contains("/"), !module.hasPrefix("."), !module.hasPrefix("test_") else {
                    throw .invalidGraph("subtask \(node.id)'s module \(module) must be a plain file name ending in .py, not test_*")
                }
            }
        }
        for node in nodes {
            for input in node.inputs {
                guard ids.contains(input) else { throw .invalidGraph("subtask \(node.id) takes input from \(input), which does not exist") }
                guard input != node.id else { throw .invalidGraph("subtask \(node.id) takes its own output as input") }
            }
        }
        _ = try order()
    }

    /// The graph with each subtask that repeats an earlier one (everything but its id the
    /// same) removed, and inputs from it taken from the earlier one: a small model's plan gives
    /// one subtask six times.
    public func withoutDuplicates() -> TaskGraph {
        var first: [TaskNode: String] = [:]  // a subtask without its id -> the id it was first given
        var renamed: [String: String] = [:]
        var graph = TaskGraph(goal: goal, nodes: [])
        for var node in nodes {
            var inputs: [String] = []
            for input in node.inputs.map({ renamed[$0] ?? $0 }) where !inputs.contains(input) { inputs.append(input) }
            node.inputs = inputs
            var anonymous = node
            anonymous.id = ""
            if let id = first[anonymous] {
                renamed[node.id] = id
            } else {
                first[anonymous] = node.id
                graph.nodes.append(node)
            }
        }
        return graph
    }

    /// The graph without inputs that name no subtask, or the subtask itself: inputs that
    /// cannot carry a result.
    public func withoutDanglingInputs() -> TaskGraph {
        let ids = Set(nodes.map(\.id))
        var graph = self
        for i in graph.nodes.indices {
            let own = graph.nodes[i].id
            graph.nodes[i].inputs.removeAll { !ids.contains($0) || $0 == own }
        }
        return graph
    }

    /// The subtasks in an order where each comes after its inputs; a cycle is an error
    /// that names the subtasks on it.
    public func order() throws(TaskError) -> [TaskNode] {
        var remaining = Dictionary(nodes.map { ($0.id, Set($0.inputs)) }, uniquingKeysWith: { a, _ in a })
        var done: [TaskNode] = []
        while !remaining.isEmpty {
            let ready = nodes.filter { remaining[$0.id]?.isEmpty == true }
            guard !ready.isEmpty else {
                throw .invalidGraph("the subtasks \(remaining.keys.sorted().joined(separator: ", ")) wait on each other in a cycle")
            }
            for node in ready {
                remaining[node.id] = nil
                done.append(node)
            }
            for key in remaining.keys { remaining[key]!.subtract(ready.map(\.id)) }
        }
        return done
    }

    /// The graph as JSON (what is stored and shown).
    public var json: JSONValue {
        let data = (try? JSONEncoder().encode(self)) ?? Data()
        return (try? JSONValue(parsing: String(decoding: data, as: UTF8.self))) ?? .null
    }

    /// Reads a graph from its JSON (a stored one or a model's plan, lenient about missing
    /// optional fields).
    public init(json: JSONValue, goal: String) throws(TaskError) {
        guard let list = json["nodes"]?.arrayValue else { throw .invalidGraph("there is no \"nodes\" list") }
        var nodes: [TaskNode] = []
        for (index, item) in list.enumerated() {
            guard let id = item["id"]?.stringValue else { throw .invalidGraph("subtask \(index + 1) has no id") }
            guard let roleName = item["role"]?.stringValue, let role = Specialist(rawValue: roleName) else {
                throw .invalidGraph(
                    "subtask \(id) has role \(item["role"]?.text ?? "none"); use one of \(Specialist.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            let strings = { (key: String) throws(TaskError) -> [String] in
                guard let value = item[key], value != .null else { return [] }
                guard let array = value.arrayValue else { throw .invalidGraph("subtask \(id)'s \(key) is not a list") }
                var out: [String] = []
                for element in array {
                    guard let s = element.stringValue else { throw .invalidGraph("subtask \(id)'s \(key) holds a non-string") }
                    out.append(s)
                }
                return out
            }
            let output = item["output"].flatMap { $0 == .null ? nil : $0 }
            nodes.append(
                TaskNode(
                    id: id, role: role, goal: item["goal"]?.stringValue ?? "", inputs: try strings("inputs"), output: output,
                    tools: try strings("tools"), module: item["module"]?.stringValue, tests: item["tests"]?.stringValue))
        }
        self.init(goal: json["goal"]?.stringValue ?? goal, nodes: nodes)
    }
}
