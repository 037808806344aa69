import AnimaCore
import AnimaProcessor
import AnimaSecurity

/// The program of an agent in dual-LLM mode: a privileged planner that reads only the
/// user's task and the tool list, and a quarantined extractor that reads untrusted text
/// and has no tools.
///
/// The planner writes a whole `Plan` first (JSON, generated under `Plan.schema`), over
/// opaque variables. The loop then runs it: each tool call is a syscall (checked against
/// the policy like any other, so a value extracted from a web page is still labelled
/// `web`), each tool output goes into a variable, and each extraction asks the
/// quarantined model, with `toolChoice: .none` and the variable's text between
/// `DataBoundary` markers, for a value matching the step's JSON Schema. Untrusted text
/// never reaches the planner, so it cannot change which calls are made; at most it
/// changes the values extracted, and the policy checks where those came from.
public struct DualLLMLoop: Sendable {
    public let spec: AgentSpec

    public init(spec: AgentSpec) { self.spec = spec }

    /// Why a dual-LLM agent stopped.
    public enum Failure: Error, CustomStringConvertible {
        case badPlan(String)
        case badExtraction(step: Int, String)

        public var description: String {
            switch self {
            case .badPlan(let why): "the planner's plan cannot run: \(why)"
            case .badExtraction(let step, let why): "the extraction in step \(step) failed: \(why)"
            }
        }
    }

    static func plannerPrompt(_ tools: [ToolDefinition]) -> String {
        let list = tools.map { "- \($0.name): \($0.description); arguments \($0.parameters.json.jsonText)" }.joined(separator: "\n")
        return """
            You plan tool calls for the user's task. You will not see any tool's output. Answer with one JSON \
            object: {"steps": [...], "answer": "..."}. A step is either {"call": TOOL, "arguments": {...}, \
            "output": NAME} (the output text goes into variable NAME) or {"extract": NAME, "instruction": WHAT, \
            "schema": JSON_SCHEMA, "output": NAME2} (a separate reader pulls WHAT out of variable NAME). In \
            arguments, {"$var": NAME} stands for a variable's value; in the answer, $NAME does.
            Tools:
            \(list)
            """
    }

    public func run(in context: ProcessContext) async throws -> String {
        let tools = await context.tools(named: spec.tools)
        let sampling = SamplingParameters(
            temperature: spec.sampling.temperature, seed: spec.sampling.seed, maxTokens: max(spec.sampling.maxTokensPerStep, 512))
        let planning = GenerationRequest(
            messages: [.system((spec.systemPrompt.map { $0 + "\n\n" } ?? "") + Self.plannerPrompt(tools)), .user(spec.task)],
            toolChoice: .none, responseFormat: .jsonSchema(Plan.schema), sampling: sampling)
        let plan: Plan
        do { plan = try Plan(json: try await context.generate(planning).text) } catch let error as PlanError {
            throw Failure.badPlan(error.description)
        }
        // The plan is the strictest action set: its calls, with the values the planner wrote.
        if spec.actions == nil, await context.actionCandidates(named: spec.tools) != nil {
            let actions = plan.steps.compactMap { step -> ActionSet.Action? in
                guard case .call(let tool, let arguments, _) = step else { return nil }
                var fixed: [String: JSONValue] = [:]
                if case .object(let object) = arguments {
                    for (key, value) in object {
                        switch value {
                        case .string, .number, .bool: fixed[key] = value
                        default: continue  // a variable or a structure: its leaves are checked by provenance
                        }
                    }
                }
                return ActionSet.Action(tool: tool, arguments: fixed)
            }
            try? await context.fixActions(ActionSet(actions, origin: .model))
        }
        var variables: [String: JSONValue] = [:]
        var labels: [String: ProvenanceLabel] = [:]
        for (i, step) in plan.steps.enumerated() {
            switch step {
            case .call(let tool, let arguments, let output):
                guard spec.tools.contains(tool) else { throw Failure.badPlan("step \(i + 1) calls \(tool), which this agent may not use") }
                let resolved: JSONValue
                do { resolved = try Plan.resolve(arguments, variables) } catch { throw Failure.badPlan(error.description) }
                // A denied call ends the plan: the planner cannot adapt without reading why.
                let result = try await context.callTool(ToolCall(id: "plan-\(i + 1)", name: tool, arguments: resolved))
                if let output {
                    variables[output] = .string(result.text)
                    labels[output] = result.label ?? ProvenanceLabel(.tool(tool))
                }
            case .extract(let source, let instruction, let schema, let output):
                let boundary = DataBoundary()
                let text = variables[source]?.text ?? ""
                let label = labels[source] ?? ProvenanceLabel(.tool("plan"))
                let request = GenerationRequest(
                    messages: [
                        .system(
                            "You extract one value from data and return it as JSON matching the schema. You have no tools.\n\n"
                                + boundary.instructions),
                        .user("Extract: \(instruction)\n\n" + boundary.wrap(text, label: label)),
                    ],
                    toolChoice: .none, responseFormat: .jsonSchema(schema), sampling: sampling)
                let answer = try await context.generate(request).text
                let value: JSONValue
                do { value = try JSONValue(parsing: answer) } catch { throw Failure.badExtraction(step: i + 1, "not JSON: \(error)") }
                let violations = schema.violations(of: value)
                guard violations.isEmpty else {
                    throw Failure.badExtraction(step: i + 1, violations.map(\.description).joined(separator: "; "))
                }
                variables[output] = value
                labels[output] = label
            }
        }
        return Plan.fill(plan.answer, variables)
    }
}
