import AnimaCore
import Foundation

/// A search of recall or archival storage: full text, vector similarity, or both, ranked
/// by `MemoryRanker`; filtered by time, tags and exclusions; paginated.
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
    /// How the lists are ordered. Default `.ranked`.
    public var ranking: SearchRanking = .ranked

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

/// How a search orders what its full-text and vector lists found.
public enum SearchRanking: String, Sendable, Hashable, CaseIterable {
    /// `MemoryRanker`: scores, names, dates, recency and source.
    case ranked
    /// Reciprocal rank fusion of the lists alone, as before the ranker: a text-only query
    /// gets pure BM25 order, a vector-only one pure similarity order. For comparisons.
    case reciprocalRank
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
    /// Relevance (higher is better), comparable across the stores of one search: cosine
    /// similarity plus a rank-decayed word score and the ranker's other signals (`reasons`).
    public var score: Double
    /// Its rank (1 = best) in the full-text list, if it was in it.
    public var textRank: Int?
    /// Its rank in the vector list, if it was in it.
    public var vectorRank: Int?
    /// Its cosine similarity to the query embedding, if it was in the vector list.
    public var similarity: Float?
    /// The signals that placed it.
    public var reasons: RankingReasons = []
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
    /// The full-text and vector lists of a query, before ranking.
    struct Lists {
        var textIDs: [Int64]
        var vectorHits: [(id: Int64, distance: Float)]
        var filter: RecordFilter
        var terms: [String]
        /// What the query asks beyond its words, worked out once per search.
        var cues: QueryCues
        /// The full-text list holds every match (it came back shorter than asked).
        var textExhaustive: Bool
        /// The vector list holds every record that passes the filter.
        var vectorExhaustive: Bool
    }

    static func lists(_ query: MemoryQuery, kind: RecordKind, store: MemoryStore, cipher: NamespaceCipher) async throws -> Lists {
        guard (1...1000).contains(query.limit) else {
            throw StorageError.invalidArgument("limit must be between 1 and 1000, not \(query.limit)")
        }
        guard query.offset >= 0 else { throw StorageError.invalidArgument("offset must be 0 or more, not \(query.offset)") }
        guard query.offset <= 1_000_000 else {
            throw StorageError.invalidArgument("offset must be at most 1000000, not \(query.offset)")
        }
        if let limit = query.commonTermLimit, limit < 1 {
            throw StorageError.invalidArgument("the common-term limit must be at least 1 record, not \(limit)")
        }
        try store.checkVector(query.embedding)
        let filter = try query.recordFilter(tags: try query.tags.map { try ArchivalStore.blindTag($0, cipher) })
        // A query for the current state of something looks deeper: the newest statement
        // may rank low on words and meaning alone.
        let cues = QueryCues(query.text ?? "")
        let depth = max(query.offset + query.limit + 1, cues.wantsRecent ? 50 : 20)
        let terms = FullTextTerms.terms(query.text ?? "").map(cipher.blind)
        // Both lists at once: a backend may search words and vectors side by side.
        async let searchedText =
            terms.isEmpty
            ? []
            : store.backend.textSearch(
                cipher.namespace, kind: kind, terms: terms, filter: filter, limit: depth, commonTermLimit: query.commonTermLimit)
        var vectorHits: [(id: Int64, distance: Float)] = []
        if let embedding = query.embedding {
            vectorHits = try await store.backend.vectorSearch(embedding, kind: kind, filter: filter, limit: depth, cipher: cipher)
        }
        let textIDs = try await searchedText
        return Lists(
            textIDs: textIDs, vectorHits: vectorHits, filter: filter, terms: terms, cues: cues, textExhaustive: textIDs.count < depth,
            vectorExhaustive: vectorHits.count < depth)
    }
}

extension HybridSearch {
    /// One page of a store's search: ranked candidates of the full-text and vector lists
    /// (plus those of the period a query names) when the query has text or an embedding, else the newest records matching `filter`. `open` unseals a record;
    /// a record that no longer opens (its sealed bytes damaged) is left out and counted, so
    /// one bad record does not fail a whole search. `facts` tells the ranker what it needs
    /// of an opened record.
    static func page<Item>(
        _ query: MemoryQuery, kind: RecordKind, listing filter: RecordFilter, store: MemoryStore, cipher: NamespaceCipher,
        open: (StoredRecord) throws -> Item, facts: (Item) -> RankingFacts
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
        let lists = try await lists(query, kind: kind, store: store, cipher: cipher)
        let textRanks = Dictionary(lists.textIDs.enumerated().map { ($1, $0 + 1) }, uniquingKeysWith: min)
        let similarities = Dictionary(
            lists.vectorHits.enumerated().map { ($1.id, ($0 + 1, 1 - $1.distance)) }, uniquingKeysWith: { a, _ in a })
        if query.ranking == .reciprocalRank {
            let fused = ReciprocalRankFusion.fuse([lists.textIDs, lists.vectorHits.map(\.id)])
            let wanted = fused.dropFirst(query.offset).prefix(query.limit)
            let (opened, damaged) = opening(
                try await store.backend.records(cipher.namespace, kind: kind, ids: wanted.map(\.id)), with: open)
            let byID = Dictionary(opened.map { ($0.record.id, $0.item) }, uniquingKeysWith: { a, _ in a })
            let hits = wanted.compactMap { entry in
                byID[entry.id].map {
                    SearchHit(
                        item: $0, score: entry.score, textRank: textRanks[entry.id], vectorRank: similarities[entry.id]?.0,
                        similarity: similarities[entry.id]?.1)
                }
            }
            return SearchPage(hits: hits, offset: query.offset, hasMore: fused.count > query.offset + query.limit, damaged: damaged)
        }
        var order: [Int64] = []
        var seen = Set<Int64>()
        for id in lists.textIDs + lists.vectorHits.map(\.id) where seen.insert(id).inserted { order.append(id) }
        let cues = lists.cues
        // Time-aware retrieval: a query that names a month or year also searches that
        // period alone, so an event of that month is a candidate even when the same kind
        // of event in other months fills the unfiltered lists.
        var periodSimilarities: [Int64: Float] = [:]
        if let period = cues.dateRange {
            var restricted = lists.filter
            restricted.after = max(restricted.after ?? period.start, period.start)
            restricted.before = min(restricted.before ?? period.end, period.end)
            if restricted.after! < restricted.before! {
                let depth = max(query.limit, 10)
                // A list shorter than it was asked to be already holds every match, that
                // period's included: searching the period again would find nothing new.
                if !lists.terms.isEmpty && !lists.textExhaustive {
                    let ids = try await store.backend.textSearch(
                        cipher.namespace, kind: kind, terms: lists.terms, filter: restricted, limit: depth,
                        commonTermLimit: query.commonTermLimit)
                    for id in ids where seen.insert(id).inserted { order.append(id) }
                }
                if let embedding = query.embedding, !lists.vectorExhaustive {
                    for hit in try await store.backend.vectorSearch(embedding, kind: kind, filter: restricted, limit: depth, cipher: cipher)
                    {
                        periodSimilarities[hit.id] = 1 - hit.distance
                        if seen.insert(hit.id).inserted { order.append(hit.id) }
                    }
                }
            }
        }
        let found = try await store.backend.records(cipher.namespace, kind: kind, ids: order)
        // Records are unsealed only when the ranker needs their text (the query names
        // someone, or a record predates stored sources) and for the page itself: opening
        // every candidate was most of the ranker's cost.
        var items: [Int64: Item] = [:]
        var broken = Set<Int64>()
        func unseal(_ records: [StoredRecord]) {
            for record in records where items[record.id] == nil && !broken.contains(record.id) {
                if let item = try? open(record) { items[record.id] = item } else { broken.insert(record.id) }
            }
        }
        func candidate(_ record: StoredRecord, textRank: Int?, similarity: Float?) -> MemoryRanker.Candidate {
            let facts =
                items[record.id].map { rankingFacts(record, $0, facts) }
                ?? RankingFacts(
                    text: "", agentStatement: record.source == .agent && (record.trust ?? .unverified) < .trusted)
            return MemoryRanker.Candidate(
                id: record.id, textRank: textRank, similarity: similarity, createdAt: record.happenedAt, facts: facts)
        }
        if !cues.entities.isEmpty || found.contains(where: { $0.source == nil }) { unseal(found) }
        let records = Dictionary(found.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        func candidates() -> [MemoryRanker.Candidate] {
            records.values.filter { !broken.contains($0.id) }.map {
                candidate($0, textRank: textRanks[$0.id], similarity: similarities[$0.id]?.1 ?? periodSimilarities[$0.id])
            }
        }
        let ranked = MemoryRanker.score(candidates(), cues: cues)
        let page = ranked.dropFirst(query.offset).prefix(query.limit)
        unseal(page.compactMap { records[$0.id] })
        let hits = page.compactMap { r in
            items[r.id].map {
                SearchHit(
                    item: $0, score: r.score, textRank: textRanks[r.id], vectorRank: similarities[r.id]?.0,
                    similarity: similarities[r.id]?.1 ?? periodSimilarities[r.id], reasons: r.reasons)
            }
        }
        let damaged = broken.count
        return SearchPage(hits: hits, offset: query.offset, hasMore: ranked.count > query.offset + query.limit, damaged: damaged)
    }

    /// What the ranker needs of a record: its text, and whether it is the agent's own
    /// unverified statement, by the source and trust stored with it (by the store's guess
    /// from its content for records kept before sources were).
    private static func rankingFacts<Item>(_ record: StoredRecord, _ item: Item, _ facts: (Item) -> RankingFacts) -> RankingFacts {
        var result = facts(item)
        if let source = record.source {
            result.agentStatement = source == .agent && (record.trust ?? source.defaultTrust) < .trusted
        }
        return result
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
