import AnimaStorage

/// Which resident messages the pager evicts first when the context is full.
///
/// Every policy is deterministic: ties are broken by age, pinned messages are never
/// evicted, and the most recent `PagerConfiguration.keepRecent` messages always stay.
public enum EvictionPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Oldest first, as MemGPT does: the conversation keeps a contiguous recent tail.
    case oldestFirst
    /// Least recently used first: a message is used when it is added and whenever a
    /// query shares a word with it.
    case leastRecentlyUsed
    /// Lowest priority first (then oldest); priorities are given when messages are added.
    case lowestPriorityFirst
}

/// How one agent's context window is laid out and paged.
public struct PagerConfiguration: Sendable, Hashable {
    /// The fixed start of every prompt. Memory edits never change it, so prompt and KV
    /// caches of this prefix stay valid.
    public var systemPrefix: String
    /// Core memory blocks an agent starts with (a restored agent keeps its own).
    public var blocks: [CoreMemoryBlock]
    /// Tokens kept free for the answer. Default 256.
    public var answerReserve: Int
    /// Most tokens the recursive summary may take. Default 128.
    public var summaryBudget: Int
    /// Most tokens paged in from storage for one generation. Default 256.
    public var pageBudget: Int
    /// Fraction of the resident budget at which the model is warned of memory pressure.
    /// Default 0.7.
    public var pressureFraction: Double
    /// Fraction of the resident budget eviction brings usage down to. Default 0.5.
    public var evictionTarget: Double
    public var policy: EvictionPolicy
    /// Messages at the end of the queue that are never evicted. Default 2.
    public var keepRecent: Int
    /// Candidates fetched from each store per page-in. Default 8.
    public var pageCandidates: Int
    /// Vector-only matches below this cosine similarity are not paged in. Default 0.35.
    public var minimumSimilarity: Float
    /// Page-in's full-text search leaves out words held by more records than this
    /// (`MemoryQuery.commonTermLimit`). Default 500.
    public var commonTermLimit: Int
    /// How page-in orders candidates. Default `.ranked`; `.reciprocalRank` (the fusion
    /// before issue 18) is for measuring what the ranker costs and gains.
    public var ranking: SearchRanking = .ranked
    /// Page-in events kept per agent in its (sealed) core memory, newest last: written as
    /// each is made, so they survive a crash, and shown by `anima memory show` and the
    /// API. 0 keeps none (they are still counted for metrics). Default 16; at most
    /// `maximumPageInHistory`, since the list is rewritten with every page-in.
    public var pageInHistory: Int = 16
    public static let maximumPageInHistory = 256

    public init(
        systemPrefix: String, blocks: [CoreMemoryBlock] = CoreMemoryBlock.defaults, answerReserve: Int = 256,
        summaryBudget: Int = 128, pageBudget: Int = 256, pressureFraction: Double = 0.7, evictionTarget: Double = 0.5,
        policy: EvictionPolicy = .oldestFirst, keepRecent: Int = 2, pageCandidates: Int = 8, minimumSimilarity: Float = 0.35,
        commonTermLimit: Int = 500
    ) {
        self.systemPrefix = systemPrefix
        self.blocks = blocks
        self.answerReserve = answerReserve
        self.summaryBudget = summaryBudget
        self.pageBudget = pageBudget
        self.pressureFraction = pressureFraction
        self.evictionTarget = evictionTarget
        self.policy = policy
        self.keepRecent = keepRecent
        self.pageCandidates = pageCandidates
        self.minimumSimilarity = minimumSimilarity
        self.commonTermLimit = commonTermLimit
    }

    /// Why this configuration cannot work, or nil.
    var problem: String? {
        if answerReserve < 1 { return "the answer reserve must be at least 1 token" }
        if summaryBudget < 8 { return "the summary budget must be at least 8 tokens" }
        if pageBudget < 0 { return "the page budget must be 0 or more" }
        if !(pressureFraction > 0 && pressureFraction <= 1) { return "the pressure fraction must be in (0, 1]" }
        if !(evictionTarget > 0 && evictionTarget < 1) { return "the eviction target must be in (0, 1)" }
        if keepRecent < 1 { return "at least the newest message must stay resident (keepRecent >= 1)" }
        if !(1...100).contains(pageCandidates) { return "page candidates must be between 1 and 100" }
        if commonTermLimit < 1 { return "the common-term limit must be at least 1 record" }
        if !(0...Self.maximumPageInHistory).contains(pageInHistory) {
            return "the page-in history must keep 0 to \(Self.maximumPageInHistory) events, not \(pageInHistory)"
        }
        var labels = Set<String>()
        for block in blocks {
            if block.label.isEmpty || block.label.contains(where: { $0.isWhitespace }) {
                return "block label \"\(block.label)\" must be one word"
            }
            if !labels.insert(block.label).inserted { return "block label \"\(block.label)\" is used twice" }
            if block.limit < 1 { return "block \"\(block.label)\" needs a limit of at least 1 token" }
        }
        return nil
    }
}
