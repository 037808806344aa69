import AnimaCore

/// The rules a `ProcessorRouter` follows.
public struct RouterPolicy: Sendable, Hashable {
    /// Which processors may be used at all.
    public var mode: ProcessorMode
    /// Groups whose data stays on this machine, as if labelled private.
    public var protectedGroups: Set<String>
    /// The most the router may spend on paid models, in US dollars; nil for no limit.
    public var budget: Double?
    /// How many requests may wait ahead of a new one on a local engine before the engine
    /// counts as busy and remote candidates go first. Default 0: busy as soon as a new
    /// request would have to wait for a slot.
    public var localQueueLimit: Int
    /// The answer length assumed for cost estimates when a request sets no maximum.
    public var expectedAnswerTokens: Int
    /// How many candidates one request may try (the first included).
    public var maxAttempts: Int
    /// Makes the bandit's draws reproducible.
    public var seed: UInt64?

    public init(
        mode: ProcessorMode = .hybrid, protectedGroups: Set<String> = [], budget: Double? = nil, localQueueLimit: Int = 0,
        expectedAnswerTokens: Int = 512, maxAttempts: Int = 3, seed: UInt64? = nil
    ) {
        self.mode = mode
        self.protectedGroups = protectedGroups
        self.budget = budget
        self.localQueueLimit = localQueueLimit
        self.expectedAnswerTokens = expectedAnswerTokens
        self.maxAttempts = maxAttempts
        self.seed = seed
    }
}
