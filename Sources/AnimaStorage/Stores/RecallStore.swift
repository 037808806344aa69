import AnimaCore
import Foundation

/// A message as recall storage keeps it.
public struct RecallEntry: Sendable, Hashable, Identifiable {
    /// Increases with every write to the store; never reused.
    public var id: Int64
    public var message: ChatMessage
    /// When it was stored.
    public var createdAt: Date
    /// When it was said (its own time unless given).
    public var happenedAt: Date
    public var source: MemorySource
    public var trust: MemoryTrust
}

/// A message on its way into recall storage, with its embedding (if it has one).
public struct NewRecallEntry: Sendable, Hashable {
    public var message: ChatMessage
    public var createdAt: Date
    /// When it was said; nil: `createdAt`, the message's own time.
    public var happenedAt: Date?
    /// Who it came from; nil: read from its role (user, assistant: agent, tool: tool).
    public var source: MemorySource?
    /// Nil: the source's default trust.
    public var trust: MemoryTrust?
    public var embedding: [Float]?

    public init(
        message: ChatMessage, createdAt: Date = Date(), happenedAt: Date? = nil, source: MemorySource? = nil, trust: MemoryTrust? = nil,
        embedding: [Float]? = nil
    ) {
        self.message = message
        self.createdAt = createdAt
        self.happenedAt = happenedAt
        self.source = source
        self.trust = trust
        self.embedding = embedding
    }
}

extension MemorySource {
    /// Who said a message of this role: the user, or the agent (its own words and its
    /// system prompt), or a tool.
    public init(role: ChatMessage.Role) {
        switch role {
        case .user: self = .user
        case .assistant, .system: self = .agent
        case .tool: self = .tool
        }
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
        var stored: [RecallEntry] = []
        for entry in entries {
            try store.checkVector(entry.embedding)
            try MemoryTime.check(entry.createdAt, what: "a message's time")
            let happened = entry.happenedAt ?? entry.createdAt
            try MemoryTime.check(happened, what: "the time a message happened")
            let source = entry.source ?? MemorySource(role: entry.message.role)
            let trust = entry.trust ?? source.defaultTrust
            records.append(
                NewRecord(
                    kind: .recall, createdAt: entry.createdAt, happenedAt: happened, source: source, trust: trust,
                    sealed: try cipher.seal(json: entry.message, context: "recall"),
                    terms: FullTextTerms.terms(entry.message.content).map(cipher.blind), tags: [], vector: entry.embedding))
            stored.append(
                RecallEntry(id: 0, message: entry.message, createdAt: entry.createdAt, happenedAt: happened, source: source, trust: trust))
        }
        let ids = try await store.backend.insert(records, cipher: cipher)
        for index in stored.indices { stored[index].id = ids[index] }
        return stored
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
        let filter = try query.recordFilter(tags: [])
        return try await store.backend.list(
            namespace, kind: .recall, filter: filter, newestFirst: newestFirst, limit: query.limit, offset: query.offset
        ).map(open)
    }

    /// How many entries match the query's dates and exclusions.
    public func count(_ query: MemoryQuery = MemoryQuery()) async throws -> Int {
        try await store.backend.count(namespace, kind: .recall, filter: try query.recordFilter(tags: []))
    }

    /// Hybrid search; without text and embedding, the newest entries matching the filters.
    public func search(_ query: MemoryQuery) async throws -> SearchPage<RecallEntry> {
        let filter = try query.recordFilter(tags: [])
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
        let message = try cipher.open(json: record.sealed, as: ChatMessage.self, context: "recall")
        let source = record.source ?? MemorySource(role: message.role)
        return RecallEntry(
            id: record.id, message: message, createdAt: record.createdAt, happenedAt: record.happenedAt, source: source,
            trust: record.trust ?? source.defaultTrust)
    }
}
