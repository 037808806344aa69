import AnimaCore
import AnimaProcessor

/// Where the tokens of a context window go, counted with the model's own tokenizer.
public struct ContextUsage: Sendable, Hashable {
    /// The model's context: prompt plus answer.
    public var contextLength: Int
    /// Tokens kept free for the answer.
    public var answerReserve: Int
    /// Tokens of everything resident: prefix, memory message, tools, message queue.
    public var residentTokens: Int
    /// Most tokens resident content may take: the context less the answer reserve and the
    /// page budget.
    public var residentLimit: Int
    public var summaryTokens: Int
    /// Tokens of this turn's pages (0 outside `prepare`).
    public var pageTokens: Int

    /// Resident share of its limit.
    public var fraction: Double { residentLimit > 0 ? Double(residentTokens) / Double(residentLimit) : 1 }
}

/// A generation request assembled by the pager: it fits the context with the answer
/// reserve free, and says what it holds.
public struct PreparedContext: Sendable {
    public var request: GenerationRequest
    /// Exact prompt tokens of `request`.
    public var promptTokens: Int
    /// What was paged in from storage for this turn.
    public var pages: [MemoryPage]
    public var usage: ContextUsage
    /// Set when resident memory is past the pressure fraction; it is also in the prompt.
    public var pressureWarning: String?
}

/// What adding a message did.
public struct AppendOutcome: Sendable, Hashable {
    /// The message's id in recall storage.
    public var recallID: Int64
    /// Recall ids of the messages this append evicted (they stay in recall storage).
    public var evicted: [Int64]
    public var usage: ContextUsage
}
