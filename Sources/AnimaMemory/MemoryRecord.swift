import AnimaCore
import Foundation

/// One thing an agent remembers, as searches return it: a message from its
/// conversations or a passage of its archival memory.
public struct MemoryRecord: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case message
        case passage
    }

    public var agent: String
    public var kind: Kind
    /// Its ID within the agent's store of that kind (what `forget` takes).
    public var id: Int64
    public var text: String
    /// The speaker of a message, or the tags of a passage.
    public var label: String
    /// The tags of a passage (none for a message).
    public var tags: [String] = []
    /// When it was stored.
    public var createdAt: Date
    /// When it happened: a message's own time, a passage's date as given on insert.
    public var happenedAt: Date
    /// Who it came from, and how far it is trusted.
    public var source: MemorySource
    public var trust: MemoryTrust
    /// Reciprocal-rank fusion score: larger is more relevant.
    public var score: Double
    /// Its place in the whole result (1 = best), counting from the first page.
    public var rank: Int = 0
    /// Its rank in its store's full-text list, and in its vector list, if it was in them.
    public var textRank: Int? = nil
    public var vectorRank: Int? = nil
}

/// What a memory search found, and how many matches it had to leave out because their
/// sealed record no longer opens (a damaged disk): the caller must be told, or a damaged
/// memory looks like a forgetful one.
public struct MemorySearchResult: Sendable, Hashable {
    public var records: [MemoryRecord]
    public var damaged: Int
    /// Whether asking with the next offset finds more.
    public var hasMore: Bool

    public init(records: [MemoryRecord], damaged: Int, hasMore: Bool = false) {
        self.records = records
        self.damaged = damaged
        self.hasMore = hasMore
    }

    /// Advice for the person who owns the memory, when records were left out.
    public var damageWarning: String? {
        guard damaged > 0 else { return nil }
        let what = damaged == 1 ? "1 damaged memory record was" : "\(damaged) damaged memory records were"
        return "\(what) left out of these results (its sealed bytes no longer open); the rest of the memory is intact: "
            + "restore memory/memory.sqlite in the data directory from a backup to get \(damaged == 1 ? "it" : "them") back"
    }
}
