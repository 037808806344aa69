import AnimaCore
import Crypto
import Foundation
import GRDB
import Glibc
import Synchronization

/// Memory on this machine: one SQLite database (GRDB, WAL, synchronous commits) and one
/// hnswlib graph per namespace and kind, kept as sealed snapshots beside it.
///
/// The database is the source of truth. A write is acknowledged once its transaction
/// commits; the graph is a cache that is rebuilt from the database's records and
/// erasure log past the snapshot's watermark when it is loaded, so a process killed at
/// any moment loses no acknowledged write and leaves nothing half-written (snapshots are
/// replaced by atomic rename). Erasure deletes the row, its terms and tags with
/// `secure_delete` on, zeroes the vector in the graph and rewrites the snapshot.
///
/// The actor runs on its own thread (a `DedicatedThread`): SQLite calls block on fsync, and
/// a snapshot of a large graph takes a fraction of a second (written only every
/// `snapshotInterval` insertions, on erasure and on close).
actor SQLiteBackend: StorageBackend {
    private let thread = DedicatedThread(name: "anima-sqlite", stackSize: 4 << 20)
    nonisolated var unownedExecutor: UnownedSerialExecutor { thread.asUnownedSerialExecutor() }
    let dimensions: Int
    let pool: DatabasePool
    let vectorsDirectory: URL
    let parameters: VectorIndexParameters
    let snapshotInterval: Int
    var indexes: [IndexKey: LoadedIndex] = [:]
    var isClosed = false {
        didSet { closedForSearch.store(isClosed, ordering: .releasing) }
    }
    /// `isClosed` for the full-text search, which runs off the actor.
    nonisolated let closedForSearch = Atomic<Bool>(false)
    /// Where full-text searches run, beside the actor's thread (see `textSearch`).
    nonisolated let searchThread = DedicatedThread(name: "anima-sqlite-search", stackSize: 1 << 20)
    /// Held from open to close: one process writes the store at a time.
    let lock: StoreLock

    struct IndexKey: Hashable {
        var namespace: MemoryNamespace
        var kind: RecordKind
    }

    final class LoadedIndex {
        let index: VectorIndex
        let cipher: NamespaceCipher
        var appliedThrough: Int64
        var erasedThrough: Int64
        var unsaved = 0
        init(index: VectorIndex, cipher: NamespaceCipher, appliedThrough: Int64, erasedThrough: Int64) {
            self.index = index
            self.cipher = cipher
            self.appliedThrough = appliedThrough
            self.erasedThrough = erasedThrough
        }
    }

    init(
        directory: URL, dimensions: Int, parameters: VectorIndexParameters, keyCheck: Data, snapshotInterval: Int = 2000
    ) throws {
        self.dimensions = dimensions
        self.parameters = parameters
        self.snapshotInterval = snapshotInterval
        vectorsDirectory = directory.appendingPathComponent("vectors", isDirectory: true)
        let files = FileManager.default
        do {
            try files.createDirectory(at: vectorsDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try files.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path)
        } catch {
            throw StorageError.database("could not create \(directory.path): \(DurableFile.reason(of: error))")
        }
        lock = try StoreLock(directory: directory)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // Freed pages are overwritten, so erased rows do not linger in the file.
            try db.execute(sql: "PRAGMA secure_delete = ON")
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let path = directory.appendingPathComponent("memory.sqlite").path
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
            try pool.write { db in
                let stored = try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'key_check'")
                if let stored, stored != keyCheck { throw StorageError.wrongKey("the memory database at \(path)") }
                if stored == nil {
                    try db.execute(sql: "INSERT INTO meta(key, value) VALUES ('key_check', ?)", arguments: [keyCheck])
                    try db.execute(sql: "INSERT INTO meta(key, value) VALUES ('dimensions', ?)", arguments: [Data(String(dimensions).utf8)])
                }
                let width = try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'dimensions'")
                    .flatMap { Int(String(decoding: $0, as: UTF8.self)) }
                if let width, width != dimensions { throw StorageError.dimensionMismatch(expected: width, got: dimensions) }
            }
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError.database("could not open \(path): \(error)")
        }
        for file in [path, path + "-wal", path + "-shm"] where files.fileExists(atPath: file) {
            chmod(file, 0o600)
        }
    }

    /// How many postings a full-text search may rank: the rarest terms of a query are
    /// searched until their document counts reach this. BM25 gives a term that is in a
    /// large share of the records almost no weight, yet ranking every record that holds it
    /// is what makes an OR query slow (100 ms at 100k records); the rarest terms decide
    /// the top of the list.
    static let postingsBudget = 2000
    /// At most this many terms of a query are searched.
    static let searchedTerms = 8
    /// A filtered vector search that must look wider than this many neighbours measures
    /// the records passing the filter instead, when at most `exactSearchLimit` pass.
    static let widestFilteredSearch = 512
    static let exactSearchLimit = 20_000

    func checkOpen() throws {
        if isClosed { throw StorageError.closed }
    }

    func database<T>(_ body: () throws -> T) throws -> T {
        try checkOpen()
        do { return try body() } catch let error as StorageError { throw error } catch {
            throw StorageError.database(String(describing: error))
        }
    }

    /// `database` for reads off the actor (the pool's readers are safe from any thread).
    nonisolated func reading<T>(_ body: () throws -> T) throws -> T {
        if closedForSearch.load(ordering: .acquiring) { throw StorageError.closed }
        do { return try body() } catch let error as StorageError { throw error } catch {
            throw StorageError.database(String(describing: error))
        }
    }

    func close() throws {
        guard !isClosed else { return }
        for (key, loaded) in indexes where loaded.unsaved > 0 {
            try saveSnapshot(key, loaded)
        }
        indexes.removeAll()
        // Everything in the write-ahead log moves into the database file, so the next
        // open (or a backup of memory.sqlite alone) starts from a complete file.
        try database { try pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) } }
        // No full-text search may start now, and the one under way ends before the pool closes.
        closedForSearch.store(true, ordering: .releasing)
        searchThread.runAndWait {}
        do { try pool.close() } catch {
            closedForSearch.store(false, ordering: .releasing)
            throw error
        }
        isClosed = true
        lock.release()
    }
}
