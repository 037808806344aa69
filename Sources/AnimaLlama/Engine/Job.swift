import AnimaCore
import AnimaProcessor
import CLlama
import Dispatch

/// One generation as the decode thread sees it. Touched only on that thread once submitted.
final class Job: @unchecked Sendable {
    let id: UInt64
    let priority: Int
    let prompt: [llama_token]
    /// Leading prompt tokens other prompts may share (a system message), or 0.
    let sharedPrefix: Int
    let sampler: UnsafeMutablePointer<llama_sampler>
    /// The grammar in `sampler`'s chain (its first link), when the output is constrained.
    let grammar: UnsafeMutablePointer<llama_sampler>?
    /// The whole output is one JSON value (a `json_object` or `json_schema` response format).
    let structured: Bool
    let maxTokens: Int
    /// From here on, a constrained structure still open is closed within the budget (`WrapUp`).
    let wrapUpAt: Int
    let ignoreEndOfTurn: Bool
    let schema: JSONSchema?
    let continuation: AsyncThrowingStream<GenerationEvent, any Error>.Continuation
    var assembler: OutputAssembler
    /// When its last token came (`DispatchTime` uptime), or when it was asked for: the wait
    /// for its next token starts here.
    var lastToken = DispatchTime.now().uptimeNanoseconds

    var slot: llama_seq_id?
    /// Tokens whose keys and values are in the cache, in order.
    var history: [llama_token] = []
    /// Sampled and sent, not yet decoded.
    var pending: llama_token?
    var generated = 0
    /// `WrapUp` chose a token the model would not have: the budget ended the output.
    var steered = false
    var snapshot: SwapSpace.Snapshot?
    var pendingResume: CheckedContinuation<Int, any Error>?
    /// Its prefill stops at the shared prefix once, so the prefix can be cached.
    var capturesPrefix = false
    /// `GenerationRequest.cacheOwner`.
    var owner: String?
    /// Events held back for a reader that wants only the whole answer
    /// (`GenerationRequest.wholeAnswer`); nil when each is handed over as it comes.
    var held: [GenerationEvent]?

    init(
        id: UInt64, priority: Int, prompt: [llama_token], sharedPrefix: Int, sampler: UnsafeMutablePointer<llama_sampler>,
        constrained: Bool, structured: Bool, maxTokens: Int, ignoreEndOfTurn: Bool, schema: JSONSchema?,
        assembler: OutputAssembler, continuation: AsyncThrowingStream<GenerationEvent, any Error>.Continuation
    ) {
        self.id = id
        self.priority = priority
        self.prompt = prompt
        self.sharedPrefix = sharedPrefix
        self.sampler = sampler
        grammar = constrained ? llama_sampler_chain_get(sampler, 0) : nil
        self.structured = structured
        self.maxTokens = maxTokens
        wrapUpAt = maxTokens - WrapUp.reserve(maxTokens: maxTokens)
        self.ignoreEndOfTurn = ignoreEndOfTurn
        self.schema = schema
        self.assembler = assembler
        self.continuation = continuation
    }

    deinit { llama_sampler_free(sampler) }

    /// Hands `events` to the reader now, or holds them until `handOverHeld()`.
    func hand(_ events: [GenerationEvent]) {
        if held != nil { held!.append(contentsOf: events) } else { for event in events { continuation.yield(event) } }
    }

    /// Hands over every held event, in order (the generation is finishing).
    func handOverHeld() {
        for event in held ?? [] { continuation.yield(event) }
        held = nil
    }

    /// Whether the next token is chosen by `WrapUp`: the budget is nearly spent inside a call
    /// or a JSON answer that the grammar holds.
    var wrapsUp: Bool {
        grammar != nil && generated >= wrapUpAt && (structured || assembler.inStructure)
    }
}
