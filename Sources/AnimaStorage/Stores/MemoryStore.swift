import AnimaCore
import Crypto
import Foundation

/// Where memory is kept, and how it is opened.
///
/// A store holds every namespace (user and agent) it is given; each `RecallStore`,
/// `ArchivalStore` and `CoreMemoryStore` handle is bound to one namespace and cannot reach
/// another. Everything written is sealed with keys derived from `key` per namespace.
public final class MemoryStore: Sendable {
    /// Where the data lives.
    public enum Location: Sendable {
        /// SQLite and sealed vector-index snapshots in this directory (created, mode 0700).
        case directory(URL)
        /// A PostgreSQL server with the pgvector extension, for memory shared across machines.
        case postgres(PostgresLocation)
    }

    let backend: any StorageBackend
    private let key: EncryptionKey
    /// Width of the vectors this store indexes.
    public let dimensions: Int

    private init(backend: any StorageBackend, key: EncryptionKey, dimensions: Int) {
        self.backend = backend
        self.key = key
        self.dimensions = dimensions
    }

    /// Opens (creating when new) the memory at `location`.
    ///
    /// - Parameters:
    ///   - location: a directory on this machine, or a PostgreSQL server.
    ///   - key: the encryption key; a store written with another key refuses to open.
    ///   - dimensions: the width of the embedding vectors. Default 384 (all-MiniLM-L6-v2).
    ///   - index: HNSW parameters for the vector index.
    public static func open(
        _ location: Location, key: EncryptionKey, dimensions: Int = 384, index: VectorIndexParameters = .init()
    ) async throws -> MemoryStore {
        guard (1...16_000).contains(dimensions) else {
            throw StorageError.invalidArgument("vector dimensions must be between 1 and 16000, not \(dimensions)")
        }
        // A keyed value that tells a wrong key at open time rather than at the first read.
        let check = Data(HMAC<SHA256>.authenticationCode(for: Data("anima-key-check".utf8), using: key.key))
        let backend: any StorageBackend
        switch location {
        case .directory(let url):
            backend = try SQLiteBackend(directory: url, dimensions: dimensions, parameters: index, keyCheck: check)
        case .postgres(let server):
            backend = try await PostgresBackend.connect(server, dimensions: dimensions, parameters: index, keyCheck: check)
        }
        let store = MemoryStore(backend: backend, key: key, dimensions: dimensions)
        do {
            try await store.fillInMessageSources()
        } catch {
            try? await backend.close()
            throw error
        }
        return store
    }

    /// Gives messages stored before sources were kept the source their sealed role tells
    /// (and its default trust), so source filters and ranking see them too. Runs once per
    /// old store, in batches; a message that no longer opens (damaged) is taken as the
    /// agent's, the cautious reading.
    private func fillInMessageSources() async throws {
        var ciphers: [MemoryNamespace: NamespaceCipher] = [:]
        while true {
            let batch = try await backend.unsourcedMessages(limit: 1000)
            if batch.isEmpty { return }
            var updates: [(id: Int64, source: MemorySource, trust: MemoryTrust)] = []
            for record in batch {
                let cipher = ciphers[record.namespace] ?? NamespaceCipher(master: key, namespace: record.namespace)
                ciphers[record.namespace] = cipher
                let role = (try? cipher.open(json: record.sealed, as: ChatMessage.self, context: "recall"))?.role
                let source = role.map(MemorySource.init(role:)) ?? .agent
                updates.append((record.id, source, source.defaultTrust))
            }
            try await backend.setSources(updates)
        }
    }

    /// The messages of one agent's conversations.
    public func recall(_ namespace: MemoryNamespace) -> RecallStore {
        RecallStore(store: self, cipher: NamespaceCipher(master: key, namespace: namespace))
    }

    /// One agent's long-term passages.
    public func archival(_ namespace: MemoryNamespace) -> ArchivalStore {
        ArchivalStore(store: self, cipher: NamespaceCipher(master: key, namespace: namespace))
    }

    /// One agent's core memory blocks and working state.
    public func coreMemory(_ namespace: MemoryNamespace) -> CoreMemoryStore {
        CoreMemoryStore(store: self, cipher: NamespaceCipher(master: key, namespace: namespace))
    }

    /// Erases everything of one agent: messages, passages, vectors, blocks.
    public func erase(_ namespace: MemoryNamespace) async throws {
        try await backend.eraseNamespace(NamespaceCipher(master: key, namespace: namespace))
    }

    /// Erases everything of every agent of `user`.
    public func erase(user: String) async throws {
        try MemoryNamespace.check(user, what: "user")
        for namespace in try await backend.namespaces(user: user) {
            try await erase(namespace)
        }
    }

    /// The agents of `user` that have anything stored.
    public func namespaces(user: String) async throws -> [MemoryNamespace] {
        try MemoryNamespace.check(user, what: "user")
        return try await backend.namespaces(user: user)
    }

    /// Writes index snapshots and closes the database; later calls fail with `closed`.
    public func close() async throws {
        try await backend.close()
    }

    func checkVector(_ vector: [Float]?) throws {
        guard let vector else { return }
        guard vector.count == dimensions else { throw StorageError.dimensionMismatch(expected: dimensions, got: vector.count) }
        guard vector.allSatisfy(\.isFinite) else { throw StorageError.invalidArgument("a vector holds a NaN or infinity") }
    }
}
