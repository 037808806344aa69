import AnimaCore
import AnimaProcessor
import Foundation

/// Asks the model for a task graph as JSON under a schema (a grammar on local models),
/// validates it, and asks once more with the reason when it is not usable.
public struct TaskPlanner: Sendable {
    public typealias Generate = RefineLoop.Generate

    /// Tools the kernel has; a plan may give a subtask only those (and only its kind's).
    public var knownTools: Set<String>
    public var maxTokens: Int

    public init(knownTools: Set<String>, maxTokens: Int = 700) {
        self.knownTools = knownTools
        self.maxTokens = maxTokens
    }

    /// The shape the plan must have.
    public var schema: JSONSchema {
        let usable = knownTools.intersection(Specialist.allCases.reduce(into: Set<String>()) { $0.formUnion($1.allowedTools) }).sorted()
        let tools: JSONValue =
            usable.isEmpty
            ? ["type": "array", "maxItems": 0]
            : ["type": "array", "maxItems": 3, "items": ["enum": .array(usable.map { .string($0) })]]
        let node: JSONValue = [
            "type": "object",
            "properties": [
                "id": ["type": "string", "minLength": 1, "maxLength": 24],
                "role": ["enum": .array(Specialist.allCases.map { .string($0.rawValue) })],
                "goal": ["type": "string", "minLength": 1, "maxLength": 600],
                "inputs": ["type": "array", "maxItems": 4, "items": ["type": "string", "maxLength": 24]],
                "tools": tools,
            ],
            "required": ["id", "role", "goal", "inputs", "tools"],
            "additionalProperties": false,
        ]
        let plan: JSONValue = [
            "type": "object", "properties": ["nodes": ["type": "array", "minItems": 1, "maxItems": 6, "items": node]],
            "required": ["nodes"], "additionalProperties": false,
        ]
        return try! JSONSchema(plan)  // a constant shape; JSONSchemaTests cover the compiler
    }

    /// The plan for `goal`; `feedback` says why an earlier plan failed (re-planning).
    public func plan(_ goal: String, feedback: String? = nil, generate: Generate) async throws -> TaskGraph {
        var messages: [ChatMessage] = [.system(Self.instructions), .user(prompt(goal, feedback: feedback))]
        var problem = ""
        var advised: TaskGraph?  // a valid first plan the model was told how to improve
        for attempt in 0..<2 {
            let request = GenerationRequest(
                messages: messages, responseFormat: .jsonSchema(schema), sampling: .greedy(maxTokens: maxTokens))
            let answer = try await generate(request).text
            do {
                let json: JSONValue
                do {
                    json = try JSONValue(parsing: answer.trimmingCharacters(in: .whitespacesAndNewlines))
                } catch {
                    throw TaskError.invalidGraph("the answer is not JSON (\(error))")
                }
                let graph = try TaskGraph(json: json, goal: goal).withoutDuplicates()
                guard attempt > 0 else {
                    try graph.validate(knownTools: knownTools)
                    let advice = Self.advice(on: graph, for: goal)
                    if !advice.isEmpty {
                        advised = graph
                        throw TaskError.invalidGraph(advice.joined(separator: "; "))
                    }
                    return graph
                }
                return try Self.mend(graph, knownTools: knownTools)
            } catch let error as TaskError {
                problem = error.description
                guard attempt == 0 else { break }
                messages += [
                    .assistant(String(answer.prefix(4000))),
                    .user("That plan cannot run: \(problem). Answer with a corrected plan as JSON."),
                ]
            }
        }
        // Advice is not a refusal: a second answer worse than the first leaves the first, mended.
        if let advised { return try Self.mend(advised, knownTools: knownTools) }
        throw TaskError.planning(problem)
    }

    /// What a valid plan should still change, said once: a small model's plan can be valid and
    /// useless. A goal that asks for code is tested only in a coder's hands (the 0.5B gave
    /// "Write a Python function slugify(text)" to six writers), and a subtask whose goal only
    /// restates its role ("Looks facts up") does nothing for this goal.
    static func advice(on graph: TaskGraph, for goal: String) -> [String] {
        var advice: [String] = []
        if asksForCode(goal), !graph.nodes.contains(where: { $0.role == .coder }) {
            advice.append("the goal asks for code, and no subtask is a coder (only a coder's code is tested)")
        }
        let idle = graph.nodes.filter(restatesItsRole)
        if !idle.isEmpty {
            advice.append(
                "the goals of subtasks \(idle.map(\.id).joined(separator: ", ")) only name their roles; say what each produces for this goal, or leave it out"
            )
        }
        return advice
    }

    /// The model's second plan, mended where it can be: subtasks other than coders that only
    /// restate their roles are left out (a coder's work is tested against the whole goal), a
    /// writer given code to write (or alone in the plan) where no one codes becomes a coder, and
    /// inputs that name no subtask are dropped (Qwen2.5-Coder-0.5B lists the function it is to
    /// write). Anything else wrong with it is the error.
    static func mend(_ graph: TaskGraph, knownTools: Set<String>) throws(TaskError) -> TaskGraph {
        var mended = graph
        let useful = graph.nodes.filter { $0.role == .coder || !restatesItsRole($0) }
        if !useful.isEmpty { mended.nodes = useful }
        // A goal that asks for code and no coder: a writer asked for code in its own goal, or
        // the plan's only subtask (SmolLM2's plan is one writer whose goal is "1234567890"),
        // does a coder's work, and so is tested.
        if asksForCode(graph.goal), !mended.nodes.contains(where: { $0.role == .coder }) {
            let alone = mended.nodes.count == 1
            for i in mended.nodes.indices where mended.nodes[i].role == .writer && (alone || asksForCode(mended.nodes[i].goal)) {
                mended.nodes[i].role = .coder
                mended.nodes[i].output = TaskNode.coderOutput  // a writer's was its prose
            }
        }
        mended = mended.withoutDanglingInputs()
        if (try? mended.validate(knownTools: knownTools)) != nil { return mended }
        try graph.validate(knownTools: knownTools)
        return graph
    }

    /// Whether a subtask's goal is only its role's description in `instructions`.
    static func restatesItsRole(_ node: TaskNode) -> Bool {
        // Words without a final s, so that "Write tests" and "writes tests" are the same.
        func words(_ text: String) -> [Substring] {
            text.lowercased().split { !$0.isLetter }.map { $0.hasSuffix("s") ? $0.dropLast() : $0 }
        }
        return words(node.goal) == words(node.role.duty)
    }

    /// Whether a goal asks for code: it names Python, a function, a script and the like.
    static func asksForCode(_ goal: String) -> Bool {
        let words = Set(goal.lowercased().split { !$0.isLetter }.map(String.init))
        return !words.isDisjoint(with: [
            "python", "function", "functions", "script", "program", "code", "class", "module", "parser", "implement",
        ])
    }

    static let instructions = """
        You plan work for a team of specialists. Split the goal into 1 to 6 subtasks. Each subtask has an id \
        (short, letters and digits), a role (\(Specialist.allCases.map { "\($0.rawValue): \($0.duty)" }.joined(separator: "; "))), \
        a goal that says exactly what to produce, the ids of the \
        subtasks whose results it needs (inputs) and the tools it needs (often none). A subtask may only take inputs \
        from subtasks listed before it. Prefer few subtasks. Answer with JSON only.
        """

    func prompt(_ goal: String, feedback: String?) -> String {
        var text = "Goal: \(goal)"
        if let feedback { text += "\n\nAn earlier plan failed:\n\(feedback.prefix(2000))\nPlan differently so it succeeds." }
        return text
    }
}
