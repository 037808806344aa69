import AnimaCore
import Foundation

/// A message as recall storage keeps it.
public struct RecallEntry: Sendable, Hashable, Identifiable {
    /// Increases with every write to the store; never reused.
    public var id: Int64
    public var message: ChatMessage
    public var createdAt: Date
}

/// A message on its way into recall storage, with its embedding (if it has one).
public struct NewRecallEntry: Sendable, Hashable {
    public var message: ChatMessage
    public var createdAt: Date
    public var embedding: [Float]?

    public init(message: ChatMessage, createdAt: Date = Date(), embedding: [Float]? = nil) {
        self.message = message
        self.createdAt = createdAt
        self.embedding = embedding
    }
}

/// Every message of one agent's conversations, kept forever unless explicitly erased:
/// sealed, full-text indexed through blinded terms, and vector indexed when given an
/// embedding. Bound to one namespace.
public struct RecallStore: Sendable {
    let store: MemoryStore
    let cipher: NamespaceCipher

    public var namespace: MemoryNamespace { cipher.namespace }

    /// Stores messages in one transaction; returns them with their ids, in order.
    @discardableResult
    public func append(_ entries: [NewRecallEntry]) async throws -> [RecallEntry] {
        var records: [NewRecord] = []
        for entry in entries {
            try store.checkVector(entry.embedding)
            records.append(
                NewRecord(
                    kind: .recall, createdAt: entry.createdAt, sealed: try cipher.seal(json: entry.message, context: "recall"),
                    terms: FullTextTerms.terms(entry.message.content).map(cipher.blind), tags: [], vector: entry.embedding))
        }
        let ids = try await store.backend.insert(records, cipher: cipher)
        return zip(ids, entries).map { RecallEntry(id: $0, message: $1.message, createdAt: $1.createdAt) }
    }

    @discardableResult
    public func append(_ message: ChatMessage, at date: Date = Date(), embedding: [Float]? = nil) async throws -> RecallEntry {
        try await append([NewRecallEntry(message: message, createdAt: date, embedding: embedding)])[0]
    }

    /// The entries with these ids that exist in this namespace, in the order asked.
    public func entries(_ ids: [Int64]) async throws -> [RecallEntry] {
        let found = try await store.backend.records(namespace, kind: .recall, ids: ids)
        let byID = Dictionary(try found.map { ($0.id, try open($0)) }, uniquingKeysWith: { a, _ in a })
        return ids.compactMap { byID[$0] }
    }

    /// Entries in time order (oldest first unless `newestFirst`), filtered by the query's
    /// dates and exclusions; the query's text and embedding are ignored.
    public func list(_ query: MemoryQuery = MemoryQuery(limit: 100), newestFirst: Bool = false) async throws -> [RecallEntry] {
        guard (1...1000).contains(query.limit), query.offset >= 0 else {
            throw StorageError.invalidArgument("limit must be between 1 and 1000 and offset 0 or more")
        }
        let filter = RecordFilter(after: query.after, before: query.before, excluded: query.excluding)
        return try await store.backend.list(
            namespace, kind: .recall, filter: filter, newestFirst: newestFirst, limit: query.limit, offset: query.offset
        ).map(open)
    }

    /// How many entries match the query's dates and exclusions.
    public func count(_ query: MemoryQuery = MemoryQuery()) async throws -> Int {
        try await store.backend.count(
            namespace, kind: .recall, filter: RecordFilter(after: query.after, before: query.before, excluded: query.excluding))
    }

    /// Hybrid search; without text and embedding, the newest entries matching the filters.
    public func search(_ query: MemoryQuery) async throws -> SearchPage<RecallEntry> {
        let filter = RecordFilter(after: query.after, before: query.before, excluded: query.excluding)
        return try await HybridSearch.page(
            query, kind: .recall, listing: filter, store: store, cipher: cipher, open: open,
            facts: { RankingFacts(text: $0.message.content, agentStatement: $0.message.role == .assistant) })
    }

    /// Erases entries: text, terms and vectors. Returns how many existed here.
    @discardableResult
    public func erase(_ ids: [Int64]) async throws -> Int {
        try await store.backend.erase(kind: .recall, ids: ids, cipher: cipher)
    }

    private func open(_ record: StoredRecord) throws -> RecallEntry {
        RecallEntry(
            id: record.id, message: try cipher.open(json: record.sealed, as: ChatMessage.self, context: "recall"),
            createdAt: record.createdAt)
    }
}
