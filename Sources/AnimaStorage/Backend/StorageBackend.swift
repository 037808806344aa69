import AnimaCore
import Foundation

/// What a record is: a message of a conversation, or an archival passage.
enum RecordKind: Int, Sendable, Hashable, CaseIterable {
    case recall = 1
    case archival = 2

    var name: String { self == .recall ? "recall" : "archival" }
}

/// A record on its way into storage: sealed content plus the blinded terms, blinded tags
/// and (plaintext, in memory only) vector that make it findable, and the metadata that
/// ranks and filters it (when it happened, who it came from, how far it is trusted).
struct NewRecord: Sendable {
    var kind: RecordKind
    /// When it was stored.
    var createdAt: Date
    /// When it happened (a message's own time; a passage's date as given).
    var happenedAt: Date
    var source: MemorySource
    var trust: MemoryTrust
    var sealed: Data
    var terms: [String]
    var tags: [String]
    var vector: [Float]?
}

/// A record as storage returns it: still sealed.
struct StoredRecord: Sendable, Hashable {
    var id: Int64
    var createdAt: Date
    var happenedAt: Date
    /// Nil for records stored before sources were kept.
    var source: MemorySource?
    /// Nil for records stored before trust was kept.
    var trust: MemoryTrust?
    var sealed: Data
}

/// A filter in storage's terms: tags already blinded; times are when records happened.
struct RecordFilter: Sendable, Hashable {
    var after: Date?
    var before: Date?
    var tags: [String] = []
    var excluded: Set<Int64> = []
    /// Only records from these sources (empty: any).
    var sources: Set<MemorySource> = []
    /// Only records trusted at least this much.
    var minimumTrust: MemoryTrust? = nil

    var isEmpty: Bool {
        after == nil && before == nil && tags.isEmpty && excluded.isEmpty && sources.isEmpty && minimumTrust == nil
    }
}

/// One named, sealed value of an agent's core memory (a block, or the summary).
struct StoredBlock: Sendable, Hashable {
    var name: String
    var sealed: Data
}

/// A place memory is kept: SQLite with an hnswlib index on this machine, or PostgreSQL
/// with pgvector for users who outgrow one machine. Both hold only sealed content and
/// blinded terms; every method is confined to one namespace.
protocol StorageBackend: Actor {
    var dimensions: Int { get }

    func insert(_ records: [NewRecord], cipher: NamespaceCipher) async throws -> [Int64]
    func records(_ namespace: MemoryNamespace, kind: RecordKind, ids: [Int64]) async throws -> [StoredRecord]
    func list(
        _ namespace: MemoryNamespace, kind: RecordKind, filter: RecordFilter, newestFirst: Bool, limit: Int, offset: Int
    ) async throws -> [StoredRecord]
    func count(_ namespace: MemoryNamespace, kind: RecordKind, filter: RecordFilter) async throws -> Int
    /// Ids of records holding any of `terms`, best BM25 (or full-text rank) first. Terms
    /// held by more than `commonTermLimit` records are not searched (nil: see
    /// `MemoryQuery.commonTermLimit`).
    func textSearch(
        _ namespace: MemoryNamespace, kind: RecordKind, terms: [String], filter: RecordFilter, limit: Int,
        commonTermLimit: Int?
    ) async throws -> [Int64]
    /// Ids of the nearest records to `vector` with their distances (1 - cosine), nearest first.
    func vectorSearch(
        _ vector: [Float], kind: RecordKind, filter: RecordFilter, limit: Int, cipher: NamespaceCipher
    ) async throws -> [(id: Int64, distance: Float)]
    /// Erases records, their terms, tags and vectors; returns how many existed.
    func erase(kind: RecordKind, ids: [Int64], cipher: NamespaceCipher) async throws -> Int
    func eraseNamespace(_ cipher: NamespaceCipher) async throws
    func namespaces(user: String) async throws -> [MemoryNamespace]

    func blocks(_ namespace: MemoryNamespace) async throws -> [StoredBlock]
    func putBlock(_ namespace: MemoryNamespace, _ block: StoredBlock) async throws
    func deleteBlock(_ namespace: MemoryNamespace, name: String) async throws

    /// Writes what is only in memory (index snapshots) and releases resources.
    func close() async throws
}
