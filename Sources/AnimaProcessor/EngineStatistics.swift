/// What the engine is doing, for monitoring and for tests.
public struct EngineStatistics: Sendable, Hashable {
    public var slots = 0
    public var runningSequences = 0
    public var waitingRequests = 0
    public var suspendedRequests = 0
    /// Calls to llama_decode so far.
    public var decodeSteps = 0
    /// Tokens sent through llama_decode (prompt and generated).
    public var batchedTokens = 0
    public var generatedTokens = 0
    /// Time spent inside llama_decode, and in sampling and emitting tokens after it.
    public var decodeNanoseconds: UInt64 = 0
    public var samplingNanoseconds: UInt64 = 0
    /// The gaps between each generation's consecutive tokens: a decode step, or longer
    /// where the generation waited off its slot while others had their time slices.
    public var tokenGaps = LatencyHistogram()
    /// How long each generation waited for its first token, from the moment it was asked
    /// for: its wait for a slot and the reading of its prompt.
    public var firstTokenLatencies = LatencyHistogram()
    /// Context switches: generations taken off a slot by the policy, and states restored.
    public var preemptions = 0
    public var restores = 0
    /// Time the decode thread spent on them (saving states, putting generations on slots),
    /// while every slot waited; kept near 2% of decoding (`SwitchBudget`).
    public var switchNanoseconds: UInt64 = 0
    /// Prompts that started from a cached shared prefix instead of reading it again.
    public var sharedPrefixHits = 0
    /// Prompt tokens not read again because the slot still held them from the generation
    /// before (the same conversation one turn later, or a common start).
    public var reusedPromptTokens = 0
    /// Saved KV states held in memory, written to disk, and how many were swapped out.
    public var swappedInMemoryBytes = 0
    public var swappedToDiskBytes = 0
    public var swapOuts = 0

    public init() {}
}
