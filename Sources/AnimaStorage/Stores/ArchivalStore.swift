import Foundation

/// A passage of long-term memory.
public struct ArchivalPassage: Sendable, Hashable, Identifiable {
    public var id: Int64
    public var text: String
    public var tags: [String]
    public var createdAt: Date
}

/// A passage on its way into archival storage.
public struct NewArchivalPassage: Sendable, Hashable {
    public var text: String
    public var tags: [String]
    public var createdAt: Date
    public var embedding: [Float]?

    public init(text: String, tags: [String] = [], createdAt: Date = Date(), embedding: [Float]? = nil) {
        self.text = text
        self.tags = tags
        self.createdAt = createdAt
        self.embedding = embedding
    }
}

/// One agent's long-term memory: passages it chose to keep, sealed, tagged, full-text and
/// vector indexed. Bound to one namespace.
public struct ArchivalStore: Sendable {
    let store: MemoryStore
    let cipher: NamespaceCipher

    public var namespace: MemoryNamespace { cipher.namespace }

    private struct Payload: Codable {
        var text: String
        var tags: [String]
    }

    /// Stores passages in one transaction; returns them with their ids.
    @discardableResult
    public func insert(_ passages: [NewArchivalPassage]) async throws -> [ArchivalPassage] {
        var records: [NewRecord] = []
        for passage in passages {
            guard !passage.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw StorageError.invalidArgument("an archival passage must not be empty")
            }
            try store.checkVector(passage.embedding)
            let tags = try passage.tags.map { tag in try Self.blindTag(tag, cipher) }
            records.append(
                NewRecord(
                    kind: .archival, createdAt: passage.createdAt,
                    sealed: try cipher.seal(json: Payload(text: passage.text, tags: passage.tags), context: "archival"),
                    terms: FullTextTerms.terms(passage.text).map(cipher.blind), tags: tags, vector: passage.embedding))
        }
        let ids = try await store.backend.insert(records, cipher: cipher)
        return zip(ids, passages).map { ArchivalPassage(id: $0, text: $1.text, tags: $1.tags, createdAt: $1.createdAt) }
    }

    @discardableResult
    public func insert(_ text: String, tags: [String] = [], at date: Date = Date(), embedding: [Float]? = nil) async throws
        -> ArchivalPassage
    {
        try await insert([NewArchivalPassage(text: text, tags: tags, createdAt: date, embedding: embedding)])[0]
    }

    public func passages(_ ids: [Int64]) async throws -> [ArchivalPassage] {
        let found = try await store.backend.records(namespace, kind: .archival, ids: ids)
        let byID = Dictionary(try found.map { ($0.id, try open($0)) }, uniquingKeysWith: { a, _ in a })
        return ids.compactMap { byID[$0] }
    }

    public func count(_ query: MemoryQuery = MemoryQuery()) async throws -> Int {
        let tags = try query.tags.map { try Self.blindTag($0, cipher) }
        return try await store.backend.count(
            namespace, kind: .archival,
            filter: RecordFilter(after: query.after, before: query.before, tags: tags, excluded: query.excluding))
    }

    /// Hybrid search; without text and embedding, the newest passages matching the filters.
    public func search(_ query: MemoryQuery) async throws -> SearchPage<ArchivalPassage> {
        if (query.text ?? "").trimmingCharacters(in: .whitespaces).isEmpty && query.embedding == nil {
            guard (1...1000).contains(query.limit), query.offset >= 0 else {
                throw StorageError.invalidArgument("limit must be between 1 and 1000 and offset 0 or more")
            }
            let tags = try query.tags.map { try Self.blindTag($0, cipher) }
            let records = try await store.backend.list(
                namespace, kind: .archival,
                filter: RecordFilter(after: query.after, before: query.before, tags: tags, excluded: query.excluding),
                newestFirst: true, limit: query.limit + 1, offset: query.offset)
            let (listed, damaged) = openSkippingDamaged(records)
            return SearchPage(
                hits: listed.prefix(query.limit).map { SearchHit(item: $0, score: 0) }, offset: query.offset,
                hasMore: records.count > query.limit, damaged: damaged)
        }
        let result = try await HybridSearch.run(query, kind: .archival, store: store, cipher: cipher)
        let found = try await store.backend.records(namespace, kind: .archival, ids: result.ranked.map(\.id))
        let (items, damaged) = openSkippingDamaged(found)
        let byID = Dictionary(items.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let hits = result.ranked.compactMap { r in
            byID[r.id].map {
                SearchHit(item: $0, score: r.score, textRank: r.textRank, vectorRank: r.vectorRank, similarity: r.similarity)
            }
        }
        return SearchPage(hits: hits, offset: query.offset, hasMore: result.hasMore, damaged: damaged)
    }

    /// Erases passages: text, tags, terms and vectors. Returns how many existed here.
    @discardableResult
    public func erase(_ ids: [Int64]) async throws -> Int {
        try await store.backend.erase(kind: .archival, ids: ids, cipher: cipher)
    }

    /// Opens each record; a record that no longer opens (its sealed bytes damaged) is
    /// left out and counted, so one bad record does not fail a whole search.
    private func openSkippingDamaged(_ records: [StoredRecord]) -> (items: [ArchivalPassage], damaged: Int) {
        var items: [ArchivalPassage] = []
        var damaged = 0
        for record in records {
            if let item = try? open(record) { items.append(item) } else { damaged += 1 }
        }
        return (items, damaged)
    }

    private func open(_ record: StoredRecord) throws -> ArchivalPassage {
        let payload = try cipher.open(json: record.sealed, as: Payload.self, context: "archival")
        return ArchivalPassage(id: record.id, text: payload.text, tags: payload.tags, createdAt: record.createdAt)
    }

    static func blindTag(_ tag: String, _ cipher: NamespaceCipher) throws -> String {
        let normal = tag.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard !normal.isEmpty, normal.count <= 64 else {
            throw StorageError.invalidArgument("a tag must be 1 to 64 characters, not \"\(tag)\"")
        }
        return cipher.blind("tag\u{0}" + normal)
    }
}
