import AnimaCore
import Foundation

/// A search of recall or archival storage: full text, vector similarity, or both fused
/// by reciprocal rank; filtered by time, tags and exclusions; paginated.
public struct MemoryQuery: Sendable, Hashable {
    /// Words to look for (BM25 over blinded terms). Nil or blank: no full-text part.
    public var text: String?
    /// Words held by more records than this are left out of the full-text part, and a
    /// query of only such words has none. Nil (the default): the query's rarest words are
    /// always searched, however common. Automatic page-in sets it: a word in hundreds of
    /// records cannot single out the memory a query needs, the vector part still carries
    /// the query's meaning, and ranking every record that holds the word costs
    /// milliseconds per thousand.
    public var commonTermLimit: Int?
    /// The query's embedding. Nil: no vector part.
    public var embedding: [Float]?
    /// Only records that happened at or after this moment.
    public var after: Date?
    /// Only records that happened before this moment.
    public var before: Date?
    /// Only records carrying every one of these tags (archival passages).
    public var tags: [String]
    /// Only records from these sources (empty: any). Records stored before sources were
    /// kept match only as far as their source was known then (see `MemorySource`).
    public var sources: Set<MemorySource>
    /// Only records trusted at least this much (nil: any).
    public var minimumTrust: MemoryTrust?
    /// Records to leave out (for example, messages still in the context window).
    public var excluding: Set<Int64>
    /// Results per page (1...1000). Default 10.
    public var limit: Int
    /// Results to skip (for the next page). Default 0.
    public var offset: Int

    public init(
        text: String? = nil, embedding: [Float]? = nil, after: Date? = nil, before: Date? = nil, tags: [String] = [],
        excluding: Set<Int64> = [], limit: Int = 10, offset: Int = 0, commonTermLimit: Int? = nil, sources: Set<MemorySource> = [],
        minimumTrust: MemoryTrust? = nil
    ) {
        self.sources = sources
        self.minimumTrust = minimumTrust
        self.text = text
        self.commonTermLimit = commonTermLimit
        self.embedding = embedding
        self.after = after
        self.before = before
        self.tags = tags
        self.excluding = excluding
        self.limit = limit
        self.offset = offset
    }
}

extension MemoryQuery {
    /// The query's filters in storage's terms (`tags` already blinded), after checking
    /// its dates: each a date memory can keep, and a range that is not empty.
    func recordFilter(tags: [String]) throws(StorageError) -> RecordFilter {
        if let after { try MemoryTime.check(after, what: "'after'") }
        if let before { try MemoryTime.check(before, what: "'before'") }
        if let after, let before, after >= before {
            throw .invalidArgument("the date range is empty: 'after' must be earlier than 'before'")
        }
        return RecordFilter(
            after: after, before: before, tags: tags, excluded: excluding, sources: sources, minimumTrust: minimumTrust)
    }
}

/// One result of a search, with why it was found.
public struct SearchHit<Item: Sendable & Hashable>: Sendable, Hashable {
    public var item: Item
    /// Reciprocal-rank-fusion score: the sum of 1/(60 + rank) over the lists it is in.
    public var score: Double
    /// Its rank (1 = best) in the full-text list, if it was in it.
    public var textRank: Int?
    /// Its rank in the vector list, if it was in it.
    public var vectorRank: Int?
    /// Its cosine similarity to the query embedding, if it was in the vector list.
    public var similarity: Float?
}

/// A page of results; `hasMore` says whether asking with the next offset finds more.
public struct SearchPage<Item: Sendable & Hashable>: Sendable, Hashable {
    public var hits: [SearchHit<Item>]
    public var offset: Int
    public var hasMore: Bool
    /// Matches left out because their sealed record no longer opens (a damaged disk
    /// block, an edited database): one bad record costs its own result, not the search.
    public var damaged: Int = 0
}

/// Reciprocal rank fusion (Cormack, Clarke and Büttcher, 2009): each list gives an item
/// 1/(k + rank); the sums order the fused list. Ties go to the larger (newer) id, so the
/// order is deterministic.
public enum ReciprocalRankFusion {
    public static func fuse(_ lists: [[Int64]], k: Double = 60) -> [(id: Int64, score: Double)] {
        var scores: [Int64: Double] = [:]
        for list in lists {
            for (rank, id) in list.enumerated() {
                scores[id, default: 0] += 1 / (k + Double(rank + 1))
            }
        }
        return scores.map { ($0.key, $0.value) }.sorted { $0.score != $1.score ? $0.score > $1.score : $0.id > $1.id }
    }
}

/// The search both stores share.
struct HybridSearch {
    struct Ranked {
        var id: Int64
        var score: Double
        var textRank: Int?
        var vectorRank: Int?
        var similarity: Float?
    }

    static func run(
        _ query: MemoryQuery, kind: RecordKind, store: MemoryStore, cipher: NamespaceCipher
    ) async throws -> (ranked: [Ranked], hasMore: Bool, filter: RecordFilter) {
        guard (1...1000).contains(query.limit) else {
            throw StorageError.invalidArgument("limit must be between 1 and 1000, not \(query.limit)")
        }
        guard query.offset >= 0 else { throw StorageError.invalidArgument("offset must be 0 or more, not \(query.offset)") }
        if let limit = query.commonTermLimit, limit < 1 {
            throw StorageError.invalidArgument("the common-term limit must be at least 1 record, not \(limit)")
        }
        try store.checkVector(query.embedding)
        let filter = try query.recordFilter(tags: try query.tags.map { try ArchivalStore.blindTag($0, cipher) })
        let wanted = query.offset + query.limit + 1
        let depth = max(wanted, 20)
        let terms = FullTextTerms.terms(query.text ?? "").map(cipher.blind)
        let textIDs =
            terms.isEmpty
            ? []
            : try await store.backend.textSearch(
                cipher.namespace, kind: kind, terms: terms, filter: filter, limit: depth, commonTermLimit: query.commonTermLimit)
        var vectorHits: [(id: Int64, distance: Float)] = []
        if let embedding = query.embedding {
            vectorHits = try await store.backend.vectorSearch(embedding, kind: kind, filter: filter, limit: depth, cipher: cipher)
        }
        let textRanks = Dictionary(textIDs.enumerated().map { ($1, $0 + 1) }, uniquingKeysWith: min)
        let vectorRanks = Dictionary(vectorHits.enumerated().map { ($1.id, ($0 + 1, 1 - $1.distance)) }, uniquingKeysWith: { a, _ in a })
        let fused = ReciprocalRankFusion.fuse([textIDs, vectorHits.map(\.id)])
        let ranked = fused.dropFirst(query.offset).prefix(query.limit).map { entry in
            Ranked(
                id: entry.id, score: entry.score, textRank: textRanks[entry.id], vectorRank: vectorRanks[entry.id]?.0,
                similarity: vectorRanks[entry.id]?.1)
        }
        return (Array(ranked), fused.count > query.offset + query.limit, filter)
    }
}

extension HybridSearch {
    /// One page of a store's search: hybrid search when the query has text or an embedding,
    /// else the newest records matching `filter`. `open` unseals a record; a record that no
    /// longer opens (its sealed bytes damaged) is left out and counted, so one bad record
    /// does not fail a whole search.
    static func page<Item>(
        _ query: MemoryQuery, kind: RecordKind, listing filter: RecordFilter, store: MemoryStore, cipher: NamespaceCipher,
        open: (StoredRecord) throws -> Item
    ) async throws -> SearchPage<Item> {
        if (query.text ?? "").trimmingCharacters(in: .whitespaces).isEmpty && query.embedding == nil {
            guard (1...1000).contains(query.limit), query.offset >= 0 else {
                throw StorageError.invalidArgument("limit must be between 1 and 1000 and offset 0 or more")
            }
            let records = try await store.backend.list(
                cipher.namespace, kind: kind, filter: filter, newestFirst: true, limit: query.limit + 1, offset: query.offset)
            let (listed, damaged) = opening(records, with: open)
            return SearchPage(
                hits: listed.prefix(query.limit).map { SearchHit(item: $0.item, score: 0) }, offset: query.offset,
                hasMore: records.count > query.limit, damaged: damaged)
        }
        let result = try await run(query, kind: kind, store: store, cipher: cipher)
        let found = try await store.backend.records(cipher.namespace, kind: kind, ids: result.ranked.map(\.id))
        let (opened, damaged) = opening(found, with: open)
        let byID = Dictionary(zip(opened.map(\.record.id), opened.map(\.item)), uniquingKeysWith: { a, _ in a })
        let hits = result.ranked.compactMap { r in
            byID[r.id].map {
                SearchHit(item: $0, score: r.score, textRank: r.textRank, vectorRank: r.vectorRank, similarity: r.similarity)
            }
        }
        return SearchPage(hits: hits, offset: query.offset, hasMore: result.hasMore, damaged: damaged)
    }

    private static func opening<Item>(
        _ records: [StoredRecord], with open: (StoredRecord) throws -> Item
    ) -> (items: [(record: StoredRecord, item: Item)], damaged: Int) {
        var items: [(record: StoredRecord, item: Item)] = []
        var damaged = 0
        for record in records {
            if let item = try? open(record) { items.append((record, item)) } else { damaged += 1 }
        }
        return (items, damaged)
    }
}
