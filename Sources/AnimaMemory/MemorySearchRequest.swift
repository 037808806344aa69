import AnimaCore
import Foundation

/// A search of the persistent memory of a user's agents, as the API, MCP and `anima
/// memory search` ask it: words (and their meaning, with an embedder), filters, and one
/// page of the whole result.
///
/// `limit` and `offset` count the whole result (every agent, messages and passages
/// together), best first; pages reach the first 1000 results.
public struct MemorySearchRequest: Sendable, Hashable {
    /// What to look for. Blank: no ranking; the newest records matching the filters.
    public var text: String
    /// Only this agent's memory (nil: every agent of the user).
    public var agent: String?
    /// Results in this page, 1...1000.
    public var limit: Int
    /// Results skipped before this page; `offset + limit` is at most 1000.
    public var offset: Int
    /// Only records that happened at or after this moment.
    public var after: Date?
    /// Only records that happened before this moment.
    public var before: Date?
    /// Only passages carrying every one of these tags (messages have none, so tags leave them out).
    public var tags: [String]
    /// Only records from these sources (empty: any).
    public var sources: Set<MemorySource>

    /// How deep pages reach.
    public static let maximumDepth = 1000

    public init(
        text: String, agent: String? = nil, limit: Int = 10, offset: Int = 0, after: Date? = nil, before: Date? = nil,
        tags: [String] = [], sources: Set<MemorySource> = []
    ) {
        self.text = text
        self.agent = agent
        self.limit = limit
        self.offset = offset
        self.after = after
        self.before = before
        self.tags = tags
        self.sources = sources
    }

    /// Whether it lists records (no words: the newest matching the filters) rather than ranking them.
    public var isListing: Bool { text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }

    /// Whether it narrows by time, tags or source.
    public var hasFilter: Bool { after != nil || before != nil || !tags.isEmpty || !sources.isEmpty }

    /// Why a listing cannot be answered: it lists by filters, so it needs one.
    public static let listingNeedsFilter =
        "give words to look for, or a filter (after, before, tags, sources) to list the newest records that match it"

    /// Why the request cannot be answered, or nil when it can.
    public var problem: String? {
        if isListing && !hasFilter { return Self.listingNeedsFilter }
        if !(1...Self.maximumDepth).contains(limit) { return "limit must be between 1 and \(Self.maximumDepth), not \(limit)" }
        if offset < 0 { return "offset must be 0 or more, not \(offset)" }
        if offset > Self.maximumDepth - limit {
            return "offset + limit must be at most \(Self.maximumDepth) (pages reach the first \(Self.maximumDepth) results), "
                + "not \(offset) + \(limit); narrow the search with after, before, tags or sources instead"
        }
        return nil
    }
}

/// A passage on its way into an agent's archival memory through the API, MCP or
/// `anima memory import`.
public struct NewMemoryPassage: Sendable, Hashable {
    public var text: String
    public var tags: [String]
    /// When what it tells happened (nil: now).
    public var happenedAt: Date?
    /// Who it came from. Default: the user (a person with a token or at the terminal).
    public var source: MemorySource
    /// Nil: the source's default trust.
    public var trust: MemoryTrust?

    public init(
        text: String, tags: [String] = [], happenedAt: Date? = nil, source: MemorySource = .user, trust: MemoryTrust? = nil
    ) {
        self.text = text
        self.tags = tags
        self.happenedAt = happenedAt
        self.source = source
        self.trust = trust
    }
}
