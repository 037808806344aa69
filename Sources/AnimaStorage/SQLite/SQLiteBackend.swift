import AnimaCore
import Crypto
import Foundation
import Glibc
import GRDB

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
    private let pool: DatabasePool
    private let vectorsDirectory: URL
    private let parameters: VectorIndexParameters
    private let snapshotInterval: Int
    private var indexes: [IndexKey: LoadedIndex] = [:]
    private var isClosed = false

    private struct IndexKey: Hashable {
        var namespace: MemoryNamespace
        var kind: RecordKind
    }

    private final class LoadedIndex {
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

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);
                CREATE TABLE records(
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    user TEXT NOT NULL, agent TEXT NOT NULL, kind INTEGER NOT NULL,
                    created_at REAL NOT NULL,
                    sealed BLOB NOT NULL,
                    terms TEXT NOT NULL,
                    sealed_vector BLOB);
                CREATE INDEX records_by_namespace ON records(user, agent, kind, created_at);
                CREATE VIRTUAL TABLE record_terms USING fts5(terms, content='records', content_rowid='id');
                CREATE TRIGGER records_insert_terms AFTER INSERT ON records BEGIN
                    INSERT INTO record_terms(rowid, terms) VALUES (new.id, new.terms);
                END;
                CREATE TRIGGER records_delete_terms AFTER DELETE ON records BEGIN
                    INSERT INTO record_terms(record_terms, rowid, terms) VALUES ('delete', old.id, old.terms);
                END;
                CREATE TABLE record_tags(
                    record_id INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
                    tag TEXT NOT NULL,
                    PRIMARY KEY(tag, record_id)) WITHOUT ROWID;
                CREATE INDEX record_tags_by_record ON record_tags(record_id);
                CREATE TABLE erasures(
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    user TEXT NOT NULL, agent TEXT NOT NULL, kind INTEGER NOT NULL, record_id INTEGER NOT NULL);
                CREATE TABLE slots(
                    user TEXT NOT NULL, agent TEXT NOT NULL, name TEXT NOT NULL,
                    sealed BLOB NOT NULL, updated_at REAL NOT NULL,
                    PRIMARY KEY(user, agent, name)) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v2") { db in
            // How many records hold each blinded term, kept by triggers, for choosing which
            // terms of a query to search. (FTS5's own vocabulary table counts them by reading
            // the term's whole posting list, milliseconds for a common term.) Terms are
            // letters and hex digits, so they split into a JSON array safely.
            func termArray(_ column: String) -> String { #"'["' || replace(\#(column), ' ', '","') || '"]'"# }
            try db.execute(sql: """
                CREATE TABLE term_documents(term TEXT PRIMARY KEY, documents INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TRIGGER records_insert_term_documents AFTER INSERT ON records BEGIN
                    INSERT INTO term_documents(term, documents)
                        SELECT DISTINCT value, 1 FROM json_each(\(termArray("new.terms"))) WHERE value <> ''
                        ON CONFLICT(term) DO UPDATE SET documents = documents + 1;
                END;
                CREATE TRIGGER records_delete_term_documents AFTER DELETE ON records BEGIN
                    UPDATE term_documents SET documents = documents - 1
                        WHERE term IN (SELECT value FROM json_each(\(termArray("old.terms"))));
                    DELETE FROM term_documents
                        WHERE documents <= 0 AND term IN (SELECT value FROM json_each(\(termArray("old.terms"))));
                END;
                INSERT INTO term_documents(term, documents)
                    SELECT value, count(DISTINCT records.id) FROM records, json_each(\(termArray("records.terms")))
                    WHERE value <> '' GROUP BY value;
                """)
        }
        return migrator
    }

    /// How many postings a full-text search may rank: the rarest terms of a query are
    /// searched until their document counts reach this. BM25 gives a term that is in a
    /// large share of the records almost no weight, yet ranking every record that holds it
    /// is what makes an OR query slow (100 ms at 100k records); the rarest terms decide
    /// the top of the list.
    static let postingsBudget = 2000
    /// At most this many terms of a query are searched.
    static let searchedTerms = 8

    private func checkOpen() throws {
        if isClosed { throw StorageError.closed }
    }

    private func database<T>(_ body: () throws -> T) throws -> T {
        try checkOpen()
        do { return try body() } catch let error as StorageError { throw error } catch {
            throw StorageError.database(String(describing: error))
        }
    }

    // MARK: Records

    func insert(_ records: [NewRecord], cipher: NamespaceCipher) throws -> [Int64] {
        let ns = cipher.namespace
        var sealedVectors: [Data?] = []
        for record in records {
            if let vector = record.vector {
                guard vector.count == dimensions else { throw StorageError.dimensionMismatch(expected: dimensions, got: vector.count) }
                sealedVectors.append(try cipher.seal(vector: vector))
            } else {
                sealedVectors.append(nil)
            }
        }
        let ids: [Int64] = try database {
            try pool.write { db in
                var ids: [Int64] = []
                for (record, sealedVector) in zip(records, sealedVectors) {
                    try db.execute(
                        sql: """
                            INSERT INTO records(user, agent, kind, created_at, sealed, terms, sealed_vector)
                            VALUES (?, ?, ?, ?, ?, ?, ?)
                            """,
                        arguments: [ns.user, ns.agent, record.kind.rawValue, record.createdAt.timeIntervalSince1970,
                                    record.sealed, record.terms.joined(separator: " "), sealedVector])
                    let id = db.lastInsertedRowID
                    for tag in Set(record.tags) {
                        try db.execute(sql: "INSERT INTO record_tags(record_id, tag) VALUES (?, ?)", arguments: [id, tag])
                    }
                    ids.append(id)
                }
                return ids
            }
        }
        // Committed: the write is acknowledged. The graph follows; if the process dies
        // before a snapshot, loading replays these records from the database.
        for kind in RecordKind.allCases {
            let indexed = zip(records, ids).filter { $0.0.kind == kind && $0.0.vector != nil }
            guard !indexed.isEmpty else { continue }
            let loaded = try loadIndex(IndexKey(namespace: ns, kind: kind), cipher: cipher)
            for (record, id) in indexed where id > loaded.appliedThrough {
                try loaded.index.add(record.vector!, label: UInt64(id))
                loaded.appliedThrough = id
                loaded.unsaved += 1
            }
            if loaded.unsaved >= max(snapshotInterval, loaded.index.count / 10) {
                try saveSnapshot(IndexKey(namespace: ns, kind: kind), loaded)
            }
        }
        return ids
    }

    // Lookups of given ids write `+user`: it keeps SQLite from choosing the namespace
    // index, which would walk every record of the namespace (11 ms at 50k) to find a few
    // ids that the primary key finds directly.

    func records(_ namespace: MemoryNamespace, kind: RecordKind, ids: [Int64]) throws -> [StoredRecord] {
        guard !ids.isEmpty else { return [] }
        return try database {
            try pool.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT id, created_at, sealed FROM records
                        WHERE +user = ? AND agent = ? AND kind = ? AND id IN (SELECT value FROM json_each(?))
                        """,
                    arguments: [namespace.user, namespace.agent, kind.rawValue, Self.jsonArray(ids)]
                ).map(Self.record)
            }
        }
    }

    func list(
        _ namespace: MemoryNamespace, kind: RecordKind, filter: RecordFilter, newestFirst: Bool, limit: Int, offset: Int
    ) throws -> [StoredRecord] {
        let (clause, arguments) = Self.filterClause(filter, alias: "r")
        let order = newestFirst ? "DESC" : "ASC"
        return try database {
            try pool.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT r.id, r.created_at, r.sealed FROM records r
                        WHERE r.user = ? AND r.agent = ? AND r.kind = ?\(clause)
                        ORDER BY r.created_at \(order), r.id \(order) LIMIT ? OFFSET ?
                        """,
                    arguments: [namespace.user, namespace.agent, kind.rawValue] + arguments + [limit, offset]
                ).map(Self.record)
            }
        }
    }

    func count(_ namespace: MemoryNamespace, kind: RecordKind, filter: RecordFilter) throws -> Int {
        let (clause, arguments) = Self.filterClause(filter, alias: "r")
        return try database {
            try pool.read { db in
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM records r WHERE r.user = ? AND r.agent = ? AND r.kind = ?\(clause)",
                    arguments: [namespace.user, namespace.agent, kind.rawValue] + arguments) ?? 0
            }
        }
    }

    func textSearch(
        _ namespace: MemoryNamespace, kind: RecordKind, terms: [String], filter: RecordFilter, limit: Int,
        commonTermLimit: Int?
    ) throws -> [Int64] {
        var seen = Set<String>()
        let unique = terms.filter { seen.insert($0).inserted }
        guard !unique.isEmpty, limit > 0 else { return [] }
        let (clause, arguments) = Self.filterClause(filter, alias: "r")
        return try database {
            try pool.read { db in
                // The rarest terms first, within the postings budget (the rarest always).
                var counts: [(term: String, documents: Int)] = []
                for term in unique {
                    let documents = try Int.fetchOne(db, sql: "SELECT documents FROM term_documents WHERE term = ?", arguments: [term]) ?? 0
                    if documents > 0 && documents <= commonTermLimit ?? .max { counts.append((term, documents)) }
                }
                counts.sort { ($0.documents, $0.term) < ($1.documents, $1.term) }
                var chosen: [String] = []
                var postings = 0
                for (term, documents) in counts.prefix(Self.searchedTerms) {
                    if !chosen.isEmpty, postings + documents > Self.postingsBudget { break }
                    chosen.append(term)
                    postings += documents
                }
                guard !chosen.isEmpty else { return [] }
                // Blinded terms are lowercase hex behind a letter: safe as quoted FTS5 strings.
                let match = chosen.map { "\"\($0)\"" }.joined(separator: " OR ")
                return try Int64.fetchAll(
                    db,
                    sql: """
                        SELECT r.id FROM record_terms JOIN records r ON r.id = record_terms.rowid
                        WHERE record_terms MATCH ? AND r.user = ? AND r.agent = ? AND r.kind = ?\(clause)
                        ORDER BY bm25(record_terms), r.id DESC LIMIT ?
                        """,
                    arguments: [match, namespace.user, namespace.agent, kind.rawValue] + arguments + [limit])
            }
        }
    }

    func vectorSearch(
        _ vector: [Float], kind: RecordKind, filter: RecordFilter, limit: Int, cipher: NamespaceCipher
    ) throws -> [(id: Int64, distance: Float)] {
        guard vector.count == dimensions else { throw StorageError.dimensionMismatch(expected: dimensions, got: vector.count) }
        guard limit > 0 else { return [] }
        let loaded = try loadIndex(IndexKey(namespace: cipher.namespace, kind: kind), cipher: cipher)
        let total = loaded.index.count
        guard total > 0 else { return [] }
        // Filters are applied after the graph search; when they reject too much, search
        // wider until enough pass or the whole index has been offered.
        var k = min(total, filter.isEmpty ? limit : max(limit * 4, 32))
        while true {
            loaded.index.setSearchBreadth(max(parameters.efSearch, k))
            let found = try loaded.index.search(vector, k: k)
            let passing: [(id: Int64, distance: Float)]
            if filter.isEmpty {
                passing = found.map { (Int64($0.label), $0.distance) }
            } else {
                let allowed = try self.passing(found.map { Int64($0.label) }, namespace: cipher.namespace, kind: kind, filter: filter)
                passing = found.filter { allowed.contains(Int64($0.label)) }.map { (Int64($0.label), $0.distance) }
            }
            if passing.count >= limit || k >= total { return Array(passing.prefix(limit)) }
            k = min(total, k * 4)
        }
    }

    private func passing(_ ids: [Int64], namespace: MemoryNamespace, kind: RecordKind, filter: RecordFilter) throws -> Set<Int64> {
        let (clause, arguments) = Self.filterClause(filter, alias: "r")
        return try database {
            try pool.read { db in
                Set(try Int64.fetchAll(
                    db,
                    sql: """
                        SELECT r.id FROM records r WHERE +r.user = ? AND r.agent = ? AND r.kind = ?
                        AND r.id IN (SELECT value FROM json_each(?))\(clause)
                        """,
                    arguments: [namespace.user, namespace.agent, kind.rawValue, Self.jsonArray(ids)] + arguments))
            }
        }
    }

    func erase(kind: RecordKind, ids: [Int64], cipher: NamespaceCipher) throws -> Int {
        let ns = cipher.namespace
        guard !ids.isEmpty else { return 0 }
        let erased: [Int64] = try database {
            try pool.write { db in
                let existing = try Int64.fetchAll(
                    db,
                    sql: """
                        SELECT id FROM records WHERE +user = ? AND agent = ? AND kind = ?
                        AND id IN (SELECT value FROM json_each(?))
                        """,
                    arguments: [ns.user, ns.agent, kind.rawValue, Self.jsonArray(ids)])
                for id in existing {
                    try db.execute(sql: "DELETE FROM records WHERE id = ?", arguments: [id])
                    try db.execute(
                        sql: "INSERT INTO erasures(user, agent, kind, record_id) VALUES (?, ?, ?, ?)",
                        arguments: [ns.user, ns.agent, kind.rawValue, id])
                }
                return existing
            }
        }
        guard !erased.isEmpty else { return 0 }
        let key = IndexKey(namespace: ns, kind: kind)
        let loaded = try loadIndex(key, cipher: cipher)
        for id in erased { loaded.index.erase(UInt64(id)) }
        loaded.erasedThrough = try database { try pool.read { db in try Int64.fetchOne(db, sql: "SELECT max(seq) FROM erasures") ?? 0 } }
        try saveSnapshot(key, loaded)
        try flushErasedPages()
        return erased.count
    }

    func eraseNamespace(_ cipher: NamespaceCipher) throws {
        let ns = cipher.namespace
        try database {
            try pool.write { db in
                try db.execute(sql: "DELETE FROM records WHERE user = ? AND agent = ?", arguments: [ns.user, ns.agent])
                try db.execute(sql: "DELETE FROM erasures WHERE user = ? AND agent = ?", arguments: [ns.user, ns.agent])
                try db.execute(sql: "DELETE FROM slots WHERE user = ? AND agent = ?", arguments: [ns.user, ns.agent])
            }
        }
        for kind in RecordKind.allCases {
            let key = IndexKey(namespace: ns, kind: kind)
            indexes[key] = nil
            try? FileManager.default.removeItem(at: snapshotURL(key))
        }
        try flushErasedPages()
    }

    func namespaces(user: String) throws -> [MemoryNamespace] {
        try database {
            try pool.read { db in
                try String.fetchAll(
                    db, sql: "SELECT agent FROM records WHERE user = ? UNION SELECT agent FROM slots WHERE user = ? ORDER BY 1",
                    arguments: [user, user])
            }
        }.compactMap { try? MemoryNamespace(user: user, agent: $0) }
    }

    /// Moves erased pages out of the write-ahead log and gives them back, so the erased
    /// bytes are overwritten rather than left in the WAL or in free pages.
    private func flushErasedPages() throws {
        try database {
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "INSERT INTO record_terms(record_terms) VALUES ('optimize')")
                try db.checkpoint(.truncate)
            }
        }
    }

    // MARK: Slots

    func slots(_ namespace: MemoryNamespace) throws -> [StoredSlot] {
        try database {
            try pool.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT name, sealed FROM slots WHERE user = ? AND agent = ? ORDER BY name",
                    arguments: [namespace.user, namespace.agent]
                ).map { StoredSlot(name: $0["name"], sealed: $0["sealed"]) }
            }
        }
    }

    func putSlot(_ namespace: MemoryNamespace, _ slot: StoredSlot) throws {
        try database {
            try pool.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO slots(user, agent, name, sealed, updated_at) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT(user, agent, name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at
                        """,
                    arguments: [namespace.user, namespace.agent, slot.name, slot.sealed, Date().timeIntervalSince1970])
            }
        }
    }

    func deleteSlot(_ namespace: MemoryNamespace, name: String) throws {
        try database {
            try pool.write { db in
                try db.execute(
                    sql: "DELETE FROM slots WHERE user = ? AND agent = ? AND name = ?",
                    arguments: [namespace.user, namespace.agent, name])
            }
        }
    }

    func close() throws {
        guard !isClosed else { return }
        for (key, loaded) in indexes where loaded.unsaved > 0 {
            try saveSnapshot(key, loaded)
        }
        indexes.removeAll()
        try pool.close()
        isClosed = true
    }

    // MARK: Vector snapshots

    private static let magic = Data("AHNSW001".utf8)

    private func snapshotURL(_ key: IndexKey) -> URL {
        let digest = SHA256.hash(data: Data("\(key.namespace.user)\u{0}\(key.namespace.agent)\u{0}\(key.kind.rawValue)".utf8))
        let name = Hex.encode(digest.prefix(16))
        return vectorsDirectory.appendingPathComponent("\(name).hnsw")
    }

    private func loadIndex(_ key: IndexKey, cipher: NamespaceCipher) throws -> LoadedIndex {
        try checkOpen()
        if let loaded = indexes[key] { return loaded }
        let url = snapshotURL(key)
        let loaded: LoadedIndex
        if let file = FileManager.default.contents(atPath: url.path) {
            guard file.count > Self.magic.count + 16, file.prefix(Self.magic.count) == Self.magic else {
                throw StorageError.corrupted("the vector index snapshot \(url.path)")
            }
            let plain = try cipher.open(file.dropFirst(Self.magic.count), context: "hnsw-\(key.kind.name)")
            let applied = plain.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }
            let erased = plain.dropFirst(8).prefix(8).withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }
            let index = try VectorIndex(serialized: plain.dropFirst(16), dimensions: dimensions, parameters: parameters)
            loaded = LoadedIndex(index: index, cipher: cipher, appliedThrough: applied, erasedThrough: erased)
        } else {
            loaded = LoadedIndex(
                index: try VectorIndex(dimensions: dimensions, parameters: parameters), cipher: cipher,
                appliedThrough: 0, erasedThrough: 0)
        }
        // Bring the graph up to date with what the database acknowledged after the snapshot.
        let ns = key.namespace
        let erasedThrough = loaded.erasedThrough, appliedThrough = loaded.appliedThrough
        let (erasures, pending): ([(Int64, Int64)], [(Int64, Data)]) = try database {
            try pool.read { db in
                let erasures = try Row.fetchAll(
                    db, sql: "SELECT seq, record_id FROM erasures WHERE user = ? AND agent = ? AND kind = ? AND seq > ? ORDER BY seq",
                    arguments: [ns.user, ns.agent, key.kind.rawValue, erasedThrough]
                ).map { ($0[0] as Int64, $0[1] as Int64) }
                let pending = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT id, sealed_vector FROM records WHERE user = ? AND agent = ? AND kind = ? AND id > ?
                        AND sealed_vector IS NOT NULL ORDER BY id
                        """,
                    arguments: [ns.user, ns.agent, key.kind.rawValue, appliedThrough]
                ).map { ($0[0] as Int64, $0[1] as Data) }
                return (erasures, pending)
            }
        }
        for (seq, id) in erasures {
            loaded.index.erase(UInt64(id))
            loaded.erasedThrough = seq
        }
        if !pending.isEmpty {
            var labels: [UInt64] = []
            var vectors: [Float] = []
            labels.reserveCapacity(pending.count)
            vectors.reserveCapacity(pending.count * dimensions)
            for (id, sealed) in pending {
                let vector = try cipher.openVector(sealed)
                guard vector.count == dimensions else { throw StorageError.corrupted("a stored vector of \(ns)") }
                labels.append(UInt64(id))
                vectors += vector
            }
            try loaded.index.add(contiguous: vectors, labels: labels, threads: ProcessInfo.processInfo.activeProcessorCount)
            loaded.appliedThrough = Int64(labels.last!)
            loaded.unsaved += labels.count
        }
        indexes[key] = loaded
        if loaded.unsaved >= snapshotInterval || !erasures.isEmpty { try saveSnapshot(key, loaded) }
        return loaded
    }

    /// Seals the graph and replaces the snapshot durably (`DurableFile`); then the erasure
    /// log it covers is no longer needed.
    private func saveSnapshot(_ key: IndexKey, _ loaded: LoadedIndex) throws {
        var plain = Data(capacity: 16)
        withUnsafeBytes(of: loaded.appliedThrough) { plain.append(contentsOf: $0) }
        withUnsafeBytes(of: loaded.erasedThrough) { plain.append(contentsOf: $0) }
        plain.append(try loaded.index.serialized())
        let sealed = Self.magic + (try loaded.cipher.seal(plain, context: "hnsw-\(key.kind.name)"))
        do { try DurableFile.write(sealed, to: snapshotURL(key)) } catch { throw StorageError.vectorIndex(error.description) }
        loaded.unsaved = 0
        let ns = key.namespace
        let erasedThrough = loaded.erasedThrough
        try database {
            try pool.write { db in
                try db.execute(
                    sql: "DELETE FROM erasures WHERE user = ? AND agent = ? AND kind = ? AND seq <= ?",
                    arguments: [ns.user, ns.agent, key.kind.rawValue, erasedThrough])
            }
        }
    }

    // MARK: SQL helpers

    private static func record(_ row: Row) -> StoredRecord {
        StoredRecord(id: row["id"], createdAt: Date(timeIntervalSince1970: row["created_at"]), sealed: row["sealed"])
    }

    private static func jsonArray(_ ids: some Sequence<Int64>) -> String {
        "[" + ids.map(String.init).joined(separator: ",") + "]"
    }

    private static func filterClause(_ filter: RecordFilter, alias r: String) -> (String, StatementArguments) {
        var sql = ""
        var arguments: StatementArguments = []
        if let after = filter.after {
            sql += " AND \(r).created_at >= ?"
            arguments += [after.timeIntervalSince1970]
        }
        if let before = filter.before {
            sql += " AND \(r).created_at < ?"
            arguments += [before.timeIntervalSince1970]
        }
        for tag in Set(filter.tags).sorted() {
            sql += " AND \(r).id IN (SELECT record_id FROM record_tags WHERE tag = ?)"
            arguments += [tag]
        }
        if !filter.excluded.isEmpty {
            sql += " AND \(r).id NOT IN (SELECT value FROM json_each(?))"
            arguments += [jsonArray(filter.excluded.sorted())]
        }
        return (sql, arguments)
    }
}
