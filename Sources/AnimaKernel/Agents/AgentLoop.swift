import AnimaCore
import AnimaProcessor
import AnimaSecurity

/// The program of an agent process: think, call a tool, observe, repeat, answer.
///
/// Every model call and every tool call is a syscall, so the kernel schedules, checks,
/// meters and records all of it. The loop stops with an answer; or when it has taken
/// `Limits.maxSteps` steps; or when the model repeats the same call with the same
/// arguments more than `Limits.maxRepeats` times (a loop that would only burn budget);
/// or when a quota runs out.
///
/// Tool outputs are untrusted data: each reaches the model wrapped in the run's random
/// `DataBoundary` markers, named by its label, and the system prompt says what the
/// markers mean. The nonce is drawn once per run, so the prompt prefix (and the model's
/// KV cache of it) stays the same from step to step; an output that contains the nonce
/// has it defaced.
///
/// Before the first step, while nothing untrusted is in the context, the privileged
/// model names the side-effecting tools the user's words call for (`ActionSet`, one
/// structured-output step over the task and the tool list alone), unless the spec gives
/// them (`AgentSpec.actions`); later calls outside that set are asked or denied.
///
/// A call the model chose to make whose arguments have no footing in what the user, the
/// operator or a tool said (`CallGrounding`: `get_weather({"city": "London"})` for "Hello!")
/// is not run; a step left with no call answers in words instead (`step`).
public struct AgentLoop: Sendable {
    public struct Limits: Sendable, Hashable {
        /// Model calls before the agent gives up.
        public var maxSteps: Int
        /// How often one identical tool call may be made.
        public var maxRepeats: Int

        public init(maxSteps: Int = 12, maxRepeats: Int = 2) {
            self.maxSteps = maxSteps
            self.maxRepeats = maxRepeats
        }
    }

    /// Why an agent stopped without an answer.
    public enum Stop: Error, CustomStringConvertible {
        case stepLimit(Int)
        case repeatedAction(String, times: Int)

        public var description: String {
            switch self {
            case .stepLimit(let n): "no answer after \(n) steps (raise the step limit or simplify the task)"
            case .repeatedAction(let call, let n): "the agent made the same call \(n) times: \(call)"
            }
        }
    }

    /// How each step chooses between calling a tool and answering (measured per model
    /// family with `anima-bench fc`; see BENCHMARKS.md).
    public enum ToolStrategy: String, Sendable, Hashable, CaseIterable {
        /// Every step is generated under a grammar built from the offered tools' schemas:
        /// well-formed calls of offered tools, or an answer that does not start like a call.
        case grammar
        /// A short constrained step first ("tool" or "answer"), then a forced call under the
        /// grammar or an answer in words (no call in any wrapping).
        case decideFirst = "decide-first"
        /// The model's own format; the grammar wakes where a call begins (the template's tag,
        /// a Markdown JSON block naming an offered tool, an answer that begins as a call) and
        /// holds the call to the offered tools' schemas.
        case native

        /// The strategy measured best with `anima-bench fc` for a tool-call family (see
        /// BENCHMARKS.md, "Function calling"): the best accuracy with no malformed calls.
        /// Without a family (a remote provider, which ignores grammars) the grammar costs nothing.
        public static func measured(for syntax: ToolCallSyntax?) -> ToolStrategy {
            switch syntax {
            // Qwen2.5-Coder: the grammar that wakes when a call begins (tag, ```json block or
            // bare object) is the most accurate with no malformed call on both sizes (210 cases:
            // 0.5B 0.586, 1.5B 0.648 as the model makes its calls; 0.681 and 0.738 once calls
            // with no footing are dropped, see `step`), where the whole-answer grammar loses the
            // 1.5B's calls, which follow a few words (0.505), and decide-first is slower and less accurate.
            case .hermes: .native
            // SmolLM2-135M under the grammar always takes the answer branch (0.19 of Anima's
            // 210 cases, as without constraints); asked "tool or answer?" first it calls tools.
            case .smolLM2: .decideFirst
            case .llama3, .mistral, .bareJSON, nil: .grammar
            }
        }
    }

    public let spec: AgentSpec

    public init(spec: AgentSpec) { self.spec = spec }

    public static let defaultSystemPrompt = "You are a helpful assistant. Answer the task directly; call a tool only when it helps."

    /// Has the model fix the task's action set from the user's words and the tool list,
    /// when the agent has side-effecting tools and the spec names none. An answer that is
    /// not an action set fixes an empty one: nothing side-effecting after untrusted text.
    /// A later turn of a conversation (`words`) adds what its own words call for.
    static func fixActions(_ spec: AgentSpec, words: String? = nil, in context: ProcessContext) async throws {
        guard spec.actions == nil else { return }
        let later = words != nil
        let found = later ? await context.laterActionCandidates(named: spec.tools) : await context.actionCandidates(named: spec.tools)
        guard let candidates = found, !candidates.acting.isEmpty else { return }
        let request = GenerationRequest(
            messages: [.system(ActionSet.prompt(tools: candidates.acting, readers: candidates.reading)), .user(words ?? spec.task)],
            toolChoice: .none, responseFormat: .jsonSchema(ActionSet.schema),
            sampling: SamplingParameters(temperature: 0, seed: spec.sampling.seed, maxTokens: max(spec.sampling.maxTokensPerStep, 256)))
        // A processor that cannot answer (no JSON Schema support, a remote error) fixes the empty set too.
        var answer = ""
        do { answer = try await context.generate(request).text } catch let error as SyscallError {
            switch error {
            case .quotaExceeded, .processExited: throw error
            default: break
            }
        } catch {}
        let set =
            (try? ActionSet(
                modelAnswer: answer, known: Set(candidates.acting.map(\.name)), readers: Set(candidates.reading.map(\.name))))
            ?? ActionSet([], origin: .model)
        if later { try await context.extendActions(set) } else { try await context.fixActions(set) }
    }

    public func run(in context: ProcessContext) async throws -> String {
        let tools = await context.tools(named: spec.tools)
        try await Self.fixActions(spec, in: context)
        let boundary = DataBoundary()
        var system = spec.systemPrompt ?? Self.defaultSystemPrompt
        if !tools.isEmpty { system += "\n\n" + boundary.instructions }
        var transcript = try await Transcript.start(spec, systemPrompt: system, tools: tools, in: context)
        var answer = try await turn(&transcript, boundary: boundary, in: context)
        guard spec.conversation else { return answer }
        // A conversation: each answer ends a turn; the owner's next words start the next.
        while true {
            await context.endTurn(answer)
            var words: String?
            while words == nil {
                guard let message = try await context.receive() else { return answer }  // ended while waiting
                if message.from == .kernel { words = message.body["turn"]?.stringValue }
            }
            try await Self.fixActions(spec, words: words, in: context)
            try await transcript.append(.user(words!))
            answer = try await turn(&transcript, boundary: boundary, in: context)
        }
    }

    /// Steps until the model answers (one task, or one turn of a conversation).
    func turn(_ transcript: inout Transcript, boundary: DataBoundary, in context: ProcessContext) async throws -> String {
        var seen: [String: Int] = [:]
        // A repeated call means the model already has what it asked for (a small model
        // echoes a result back into the same tool): the next step may only answer.
        var answerOnly = false
        var cuts = 0
        let strategy = spec.toolStrategy ?? .measured(for: context.toolCallSyntax)
        for step in 0..<spec.limits.maxSteps {
            let sampling = SamplingParameters(
                temperature: spec.sampling.temperature, seed: spec.sampling.seed, maxTokens: spec.sampling.maxTokensPerStep,
                stop: DataBoundary.markerStarts)
            var request = try await transcript.request(sampling: sampling)
            request.parallelToolCalls = false  // one action, then look at its result
            if answerOnly {
                request.toolChoice = .none
                // The answer may not start like a call, whatever the strategy: a small model that
                // has just called a tool twice writes a third call as its answer.
                request.toolConstraint = .wholeAnswer
                // The request again, in the user's own words (this step only): a small model that
                // just echoed a result into its tool otherwise parrots the data boundary's notice.
                if let words = request.messages.last(where: { $0.role == .user })?.content {
                    request.messages.append(.user("Answer my request with the tool results above: \(words)"))
                }
            }
            let (result, dropped) = try await Self.step(strategy, request) { try await context.generate($0) }
            if !dropped.isEmpty { await context.noteUngrounded(dropped) }
            guard !result.toolCalls.isEmpty else {
                let answer = result.text.trimmingCharacters(in: .whitespacesAndNewlines)
                if answer.isEmpty, !answerOnly, step + 1 < spec.limits.maxSteps {
                    // Nothing to read: silence, or a call the step's limit cut before any of
                    // it parsed. That is no answer; the next step must answer in words (on the
                    // last step, the empty answer stands and the caller says so).
                    answerOnly = true
                    continue
                }
                try await transcript.append(.assistant(answer))
                return answer
            }
            try await transcript.append(.assistant(result.text, toolCalls: result.toolCalls))
            if result.finishReason == .length {
                // The step's token limit cut the calls (the engine closes a constrained call, with
                // its arguments shortened): acting on them would act on words the model did not
                // finish. The model hears why; after a second cut it must answer.
                cuts += 1
                if cuts > 1 { answerOnly = true }
                for call in result.toolCalls {
                    try await transcript.append(.tool(Self.cutNotice(call, limit: sampling.maxTokens), callID: call.id))
                }
                continue
            }
            for call in result.toolCalls {
                let key = "\(call.name) \(call.arguments.jsonText)"
                seen[key, default: 0] += 1
                if seen[key]! > spec.limits.maxRepeats { throw Stop.repeatedAction(key, times: seen[key]!) }
                if seen[key]! > 1 { answerOnly = true }
                let output: ToolOutput
                do {
                    output = try await context.callTool(call)
                } catch let error as SyscallError {
                    // Bad arguments, an unknown tool, a denial: the model reads it and may adapt.
                    switch error {
                    case .quotaExceeded, .processExited: throw error
                    default: output = ToolOutput(text: "error: \(error)", isError: true)
                    }
                }
                // Kernel errors (a denial, bad arguments) carry no label: they are the system's words.
                let text = output.label.map { boundary.wrap(output.text, label: $0) } ?? output.text
                try await transcript.append(.tool(text, callID: call.id))
            }
        }
        throw Stop.stepLimit(spec.limits.maxSteps)
    }

    /// One step's generation under `strategy`. When the model chose to call tools (the
    /// request left the choice to it), calls with no footing in the conversation
    /// (`CallGrounding`) are dropped; if that leaves none, the step is asked again for an
    /// answer in words. A small model invents calls for small talk (`get_weather` for "Hello!"),
    /// which an agent would otherwise run. Returns the step's result and the calls dropped.
    public static func step(
        _ strategy: ToolStrategy, _ request: GenerationRequest, generate: (GenerationRequest) async throws -> GenerationResult
    ) async throws -> (result: GenerationResult, dropped: [ToolCall]) {
        var shaped = request
        try await apply(strategy, to: &shaped, generate: generate)
        return try await ground(try await generate(shaped), of: request, generate: generate)
    }

    /// `result` without the calls that have no footing in `request`'s conversation, or, if
    /// none has any, the request generated again as an answer in words; and the calls
    /// dropped. Calls the request did not leave to the model (`toolChoice` other than
    /// `auto`) are kept as they are.
    public static func ground(
        _ result: GenerationResult, of request: GenerationRequest, generate: (GenerationRequest) async throws -> GenerationResult
    ) async throws -> (result: GenerationResult, dropped: [ToolCall]) {
        var result = result
        guard request.toolChoice == .auto, !result.toolCalls.isEmpty else { return (result, []) }
        let grounding = CallGrounding(request.messages)
        var grounded: [ToolCall] = []
        var dropped: [ToolCall] = []
        for call in result.toolCalls {
            if grounding.isGrounded(call, offered: request.tools) { grounded.append(call) } else { dropped.append(call) }
        }
        guard grounded.isEmpty else {
            result.toolCalls = grounded
            return (result, dropped)
        }
        var answer = request
        answer.toolChoice = .none
        answer.toolConstraint = .wholeAnswer
        return (try await generate(answer), dropped)
    }

    /// Shapes one step's request for `strategy`; `generate` runs the decision step of
    /// `decideFirst`, which costs a few tokens of an extra model call.
    public static func apply(
        _ strategy: ToolStrategy, to request: inout GenerationRequest,
        generate: (GenerationRequest) async throws -> GenerationResult
    ) async throws {
        guard !request.tools.isEmpty, request.toolChoice == .auto else { return }
        switch strategy {
        case .native:
            request.toolConstraint = .whenCalling
        case .grammar:
            request.toolConstraint = .wholeAnswer
        case .decideFirst:
            var question = request
            question.toolChoice = .none
            question.tools = []
            let list = request.tools.map { "- \($0.name): \($0.description)" }.joined(separator: "\n")
            question.messages.append(
                .user(
                    "Tools you could call:\n\(list)\nDoes the request above need one of these tools, or can you answer it directly? Reply tool or answer."
                ))
            question.responseFormat = .jsonSchema(Self.decisionSchema)
            question.sampling.maxTokens = 8
            question.isPrivateStep = true
            let decision = try await generate(question).text
            if decision.contains("tool") {
                request.toolChoice = .required
            } else {
                // An answer in words: a model that decided to answer may still write a call
                // (SmolLM2 does), which would reach the user as JSON, or as a malformed call.
                request.toolChoice = .none
                request.toolConstraint = .wholeAnswer
            }
        }
    }

    static func cutNotice(_ call: ToolCall, limit: Int?) -> String {
        let limit = limit.map { " of \($0) tokens" } ?? ""
        return "not run: the call of \(call.name) was cut off at this step's limit\(limit) before its arguments were finished; "
            + "call it again with shorter arguments, or answer"
    }

    static let decisionSchema = try! JSONSchema(["enum": ["tool", "answer"]])
}
