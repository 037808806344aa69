import AnimaCore

/// A processor: anything that turns a conversation into a stream of generated events.
///
/// The local llama.cpp engine, cloud providers and the hybrid router all conform, and so
/// does `ScriptedModel` for deterministic tests of the layers above. Cancelling the task
/// that consumes the stream stops generation promptly and frees what it held.
public protocol LanguageModel: Sendable {
    /// What the model is and how much it can hold.
    var info: ModelInfo { get }

    /// Starts generating. Errors about the request itself (a prompt longer than the
    /// context, an unusable schema) arrive as the stream's error before any event.
    func generate(_ request: GenerationRequest) -> AsyncThrowingStream<GenerationEvent, any Error>

    /// The exact number of prompt tokens `request` costs with the model's own tokenizer
    /// and chat template, tool definitions included.
    func countTokens(_ request: GenerationRequest) async throws -> Int

    /// The exact number of tokens of plain text (no template, no special tokens).
    func countTokens(text: String) async throws -> Int

    /// This processor as one that time-shares slots, or nil (`LanguageModelCapabilities`).
    var timeSharing: (any TimeSharedModel)? { get }

    /// This processor as a router among others, or nil (`LanguageModelCapabilities`).
    var routing: (any ProcessorRouting)? { get }
}

/// What a processor is, as far as its callers need to know.
public struct ModelInfo: Sendable, Hashable {
    /// A short name, such as the GGUF file name without its extension.
    public var name: String
    /// The most tokens one generation may hold: prompt plus answer.
    public var contextLength: Int
    /// How the model writes tool calls, when it is a local model whose chat template says
    /// (nil for remote providers, routers over several families and test doubles). The
    /// kernel chooses each agent's tool strategy by it.
    public var toolCallSyntax: ToolCallSyntax?
    /// The names `GenerationRequest.model` may give, when the processor serves several
    /// models (`ResidentModels`); empty when it is one.
    public var models: [String] = []

    public init(name: String, contextLength: Int, toolCallSyntax: ToolCallSyntax? = nil) {
        self.name = name
        self.contextLength = contextLength
        self.toolCallSyntax = toolCallSyntax
    }
}

/// One generation: the conversation, the tools on offer, the shape of the answer, and
/// how to sample it.
public struct GenerationRequest: Sendable, Hashable {
    public var messages: [ChatMessage]
    public var tools: [ToolDefinition]
    public var toolChoice: ToolChoice
    public var responseFormat: ResponseFormat
    public var sampling: SamplingParameters
    /// Where the data in this request may go. Private requests, and requests carrying a
    /// protected group's data, are served on this machine only (see `Router`).
    public var privacy: PrivacyLabel = .public
    /// The router candidate that must serve this request (`openai/gpt-4o-mini`), when the
    /// caller named one; nil lets the router choose. The privacy rule still applies: a
    /// request that must stay local is refused rather than sent to a remote candidate.
    public var pinnedProcessor: String?
    /// Text to continue as it is, without the chat template (OpenAI's legacy completions).
    /// When set, `messages` is ignored by processors that support raw prompts.
    public var rawPrompt: String?
    /// Whether one answer may hold several tool calls (OpenAI's `parallel_tool_calls`).
    /// When false, generation ends after the first call.
    public var parallelToolCalls = true
    /// How much of the answer the tool grammar holds when tools are offered.
    public var toolConstraint = ToolConstraint.whenCalling
    /// Which of a processor's models serves the request (`ResidentModels`); nil: its default.
    public var model: String?
    /// Whose computed prompts this generation may start from: an engine that keeps a finished
    /// generation's prompt (a slot's cells) reuses it only for the same owner, so no one can
    /// tell from the time to the first token how someone else's prompt began. The kernel sets
    /// the process owner's name; requests without one share only with each other.
    public var cacheOwner: String?
    /// A step an agent takes for itself (decide-first's "tool or answer?"): the kernel
    /// streams none of its text to the process's observers, who would see or hear "tool".
    public var isPrivateStep = false
    /// The caller reads only the whole answer (the kernel keeps this only where no one sees
    /// the text before it is screened): a time-shared processor may then hand over the
    /// generation's events when it finishes instead of one by one, which spares waking the
    /// reader for every token. The events and their order are the same; only their timing
    /// differs.
    public var wholeAnswer = false

    public init(
        messages: [ChatMessage], tools: [ToolDefinition] = [], toolChoice: ToolChoice = .auto,
        responseFormat: ResponseFormat = .text, sampling: SamplingParameters = .init(), rawPrompt: String? = nil
    ) {
        self.rawPrompt = rawPrompt
        self.messages = messages
        self.tools = tools
        self.toolChoice = toolChoice
        self.responseFormat = responseFormat
        self.sampling = sampling
    }
}

/// Whether and which tools the model may call, as in OpenAI's `tool_choice`.
public enum ToolChoice: Sendable, Hashable {
    /// The model decides between answering and calling tools.
    case auto
    /// The tools are not offered.
    case none
    /// The model must call at least one tool.
    case required
    /// The model must call this tool.
    case function(String)
}

/// The shape of the answer.
public enum ResponseFormat: Sendable, Hashable {
    case text
    /// Any JSON object.
    case jsonObject
    /// JSON that matches the schema; generation is constrained by a grammar.
    case jsonSchema(JSONSchema)
}

/// How the next token is chosen. Temperature 0 means greedy decoding: the most likely
/// token every time, which makes generation deterministic.
public struct SamplingParameters: Sendable, Hashable {
    public var temperature: Double
    public var topP: Double
    public var topK: Int
    public var minP: Double
    public var repeatPenalty: Double
    /// How many recent tokens the repeat penalty looks at.
    public var repeatLastN: Int
    public var seed: UInt32
    public var maxTokens: Int?
    public var stop: [String]
    /// Keep generating past end-of-turn tokens (for benchmarks that need fixed lengths).
    public var ignoreEndOfTurn: Bool

    public init(
        temperature: Double = 0.7, topP: Double = 0.95, topK: Int = 40, minP: Double = 0.05,
        repeatPenalty: Double = 1.0, repeatLastN: Int = 64, seed: UInt32 = 0, maxTokens: Int? = nil,
        stop: [String] = [], ignoreEndOfTurn: Bool = false
    ) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.minP = minP
        self.repeatPenalty = repeatPenalty
        self.repeatLastN = repeatLastN
        self.seed = seed
        self.maxTokens = maxTokens
        self.stop = stop
        self.ignoreEndOfTurn = ignoreEndOfTurn
    }

    /// Greedy decoding: deterministic, the same output for the same prompt.
    public static func greedy(maxTokens: Int? = nil) -> SamplingParameters {
        SamplingParameters(temperature: 0, maxTokens: maxTokens)
    }

    /// Why these parameters cannot be used, or nil when they can.
    public var problem: String? {
        if !temperature.isFinite || temperature < 0 { return "temperature must be 0 or more" }
        if !(topP > 0 && topP <= 1) { return "top-p must be in (0, 1]" }
        if topK < 0 { return "top-k must be 0 (off) or more" }
        if !(minP >= 0 && minP < 1) { return "min-p must be in [0, 1)" }
        if !(repeatPenalty > 0) || !repeatPenalty.isFinite { return "repeat penalty must be above 0" }
        if repeatLastN < 0 { return "repeat-last-n must be 0 or more" }
        if let maxTokens, maxTokens < 1 { return "max tokens must be at least 1" }
        if stop.contains(where: \.isEmpty) { return "a stop string must not be empty" }
        return nil
    }
}

/// What a generation stream carries.
public enum GenerationEvent: Sendable, Hashable {
    /// More answer text; always whole UTF-8 characters.
    case text(String)
    /// A complete tool call the model made.
    case toolCall(ToolCall)
    /// Token counts, sent once before `finished`.
    case usage(Usage)
    /// The last event of a successful generation.
    case finished(FinishReason)
}

public struct Usage: Sendable, Hashable, Codable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int { promptTokens + completionTokens }

    public init(promptTokens: Int, completionTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }
}

public enum FinishReason: String, Sendable, Hashable, Codable {
    /// The model ended its turn, or a stop string appeared.
    case stop
    /// The token limit or the context was reached.
    case length
    /// The model called tools and waits for their results.
    case toolCalls = "tool_calls"
}

/// A whole generation, gathered from its stream.
public struct GenerationResult: Sendable, Hashable {
    public var text: String
    public var toolCalls: [ToolCall]
    public var usage: Usage
    public var finishReason: FinishReason

    public init(text: String, toolCalls: [ToolCall], usage: Usage, finishReason: FinishReason) {
        self.text = text
        self.toolCalls = toolCalls
        self.usage = usage
        self.finishReason = finishReason
    }
}

extension GenerationResult {
    /// Nothing said yet.
    public static let empty = GenerationResult(
        text: "", toolCalls: [], usage: Usage(promptTokens: 0, completionTokens: 0), finishReason: .stop)

    /// Adds one event of a generation's stream to what it said.
    public mutating func add(_ event: GenerationEvent) {
        switch event {
        case .text(let t): text += t
        case .toolCall(let c): toolCalls.append(c)
        case .usage(let u): usage = u
        case .finished(let r): finishReason = r
        }
    }
}

extension AsyncThrowingStream where Element == GenerationEvent {
    /// Reads the stream to its end, on the global executor (never the caller's actor), and
    /// returns everything it said; `onText` sees each piece of text as it comes.
    @concurrent
    public func collect(onText: @Sendable (String) -> Void = { _ in }) async throws -> GenerationResult {
        var result = GenerationResult.empty
        for try await event in self {
            if case .text(let t) = event { onText(t) }
            result.add(event)
        }
        return result
    }
}
