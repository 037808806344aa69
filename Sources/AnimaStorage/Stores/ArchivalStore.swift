import AnimaCore
import Foundation

/// A passage of long-term memory.
public struct ArchivalPassage: Sendable, Hashable, Identifiable {
    public var id: Int64
    public var text: String
    public var tags: [String]
    /// When it was stored.
    public var createdAt: Date
    /// When what it tells happened (as given on insert; else when it was stored).
    public var happenedAt: Date
    public var source: MemorySource
    public var trust: MemoryTrust
}

/// A passage on its way into archival storage.
public struct NewArchivalPassage: Sendable, Hashable {
    public var text: String
    public var tags: [String]
    public var createdAt: Date
    /// When what it tells happened; nil: `createdAt`.
    public var happenedAt: Date?
    /// Who it came from. Default: the agent (what `archival_insert` saves).
    public var source: MemorySource
    /// Nil: the source's default trust.
    public var trust: MemoryTrust?
    public var embedding: [Float]?

    public init(
        text: String, tags: [String] = [], createdAt: Date = Date(), happenedAt: Date? = nil, source: MemorySource = .agent,
        trust: MemoryTrust? = nil, embedding: [Float]? = nil
    ) {
        self.text = text
        self.tags = tags
        self.createdAt = createdAt
        self.happenedAt = happenedAt
        self.source = source
        self.trust = trust
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
        var stored: [ArchivalPassage] = []
        for passage in passages {
            guard !passage.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw StorageError.invalidArgument("an archival passage must not be empty")
            }
            try store.checkVector(passage.embedding)
            try MemoryTime.check(passage.createdAt, what: "a passage's creation time")
            let happened = passage.happenedAt ?? passage.createdAt
            try MemoryTime.check(happened, what: "the time a passage happened")
            let trust = passage.trust ?? passage.source.defaultTrust
            let tags = try passage.tags.map { tag in try Self.blindTag(tag, cipher) }
            records.append(
                NewRecord(
                    kind: .archival, createdAt: passage.createdAt, happenedAt: happened, source: passage.source, trust: trust,
                    sealed: try cipher.seal(json: Payload(text: passage.text, tags: passage.tags), context: "archival"),
                    terms: FullTextTerms.terms(passage.text).map(cipher.blind), tags: tags, vector: passage.embedding))
            stored.append(
                ArchivalPassage(
                    id: 0, text: passage.text, tags: passage.tags, createdAt: passage.createdAt, happenedAt: happened,
                    source: passage.source, trust: trust))
        }
        let ids = try await store.backend.insert(records, cipher: cipher)
        for index in stored.indices { stored[index].id = ids[index] }
        return stored
    }

    @discardableResult
    public func insert(
        _ text: String, tags: [String] = [], at date: Date = Date(), happenedAt: Date? = nil, source: MemorySource = .agent,
        trust: MemoryTrust? = nil, embedding: [Float]? = nil
    ) async throws -> ArchivalPassage {
        try await insert([
            NewArchivalPassage(
                text: text, tags: tags, createdAt: date, happenedAt: happenedAt, source: source, trust: trust, embedding: embedding)
        ])[0]
    }

    public func passages(_ ids: [Int64]) async throws -> [ArchivalPassage] {
        let found = try await store.backend.records(namespace, kind: .archival, ids: ids)
        let byID = Dictionary(try found.map { ($0.id, try open($0)) }, uniquingKeysWith: { a, _ in a })
        return ids.compactMap { byID[$0] }
    }

    public func count(_ query: MemoryQuery = MemoryQuery()) async throws -> Int {
        let tags = try query.tags.map { try Self.blindTag($0, cipher) }
        return try await store.backend.count(namespace, kind: .archival, filter: try query.recordFilter(tags: tags))
    }

    /// Hybrid search; without text and embedding, the newest passages matching the filters.
    public func search(_ query: MemoryQuery) async throws -> SearchPage<ArchivalPassage> {
        let tags = try query.tags.map { try Self.blindTag($0, cipher) }
        let filter = try query.recordFilter(tags: tags)
        return try await HybridSearch.page(
            query, kind: .archival, listing: filter, store: store, cipher: cipher, open: open,
            facts: { RankingFacts(text: $0.text, agentStatement: false) })
    }

    /// Erases passages: text, tags, terms and vectors. Returns how many existed here.
    @discardableResult
    public func erase(_ ids: [Int64]) async throws -> Int {
        try await store.backend.erase(kind: .archival, ids: ids, cipher: cipher)
    }

    private func open(_ record: StoredRecord) throws -> ArchivalPassage {
        let payload = try cipher.open(json: record.sealed, as: Payload.self, context: "archival")
        let source = record.source ?? .agent
        return ArchivalPassage(
            id: record.id, text: payload.text, tags: payload.tags, createdAt: record.createdAt, happenedAt: record.happenedAt,
            source: source, trust: record.trust ?? source.defaultTrust)
    }

    static func blindTag(_ tag: String, _ cipher: NamespaceCipher) throws -> String {
        let normal = tag.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard !normal.isEmpty, normal.count <= 64 else {
            throw StorageError.invalidArgument("a tag must be 1 to 64 characters, not \"\(tag)\"")
        }
        return cipher.blind("tag\u{0}" + normal)
    }
}
