import AnimaCore
import Crypto
import Foundation
import GRDB
import Glibc

/// Records: insertion, lookup, full-text and vector search, erasure; and the SQL they share.
extension SQLiteBackend {
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
                            INSERT INTO records(user, agent, kind, created_at, happened_at, source, trust, sealed, terms, sealed_vector)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """,
                        arguments: [
                            ns.user, ns.agent, record.kind.rawValue, record.createdAt.timeIntervalSince1970,
                            record.happenedAt.timeIntervalSince1970, record.source.code, record.trust.rawValue,
                            record.sealed, record.terms.joined(separator: " "), sealedVector,
                        ])
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
                        SELECT \(Self.recordColumns) FROM records
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
                        SELECT \(Self.recordColumns) FROM records r
                        WHERE r.user = ? AND r.agent = ? AND r.kind = ?\(clause)
                        ORDER BY r.happened_at \(order), r.id \(order) LIMIT ? OFFSET ?
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

    func passing(_ ids: [Int64], namespace: MemoryNamespace, kind: RecordKind, filter: RecordFilter) throws -> Set<Int64> {
        let (clause, arguments) = Self.filterClause(filter, alias: "r")
        return try database {
            try pool.read { db in
                Set(
                    try Int64.fetchAll(
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
    func flushErasedPages() throws {
        try database {
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "INSERT INTO record_terms(record_terms) VALUES ('optimize')")
                try db.checkpoint(.truncate)
            }
        }
    }

    static let recordColumns = "id, created_at, happened_at, source, trust, sealed"

    static func record(_ row: Row) -> StoredRecord {
        StoredRecord(
            id: row["id"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
            happenedAt: Date(timeIntervalSince1970: row["happened_at"]), source: (row["source"] as Int?).flatMap(MemorySource.init(code:)),
            trust: (row["trust"] as Int?).flatMap(MemoryTrust.init(rawValue:)), sealed: row["sealed"])
    }

    static func jsonArray(_ ids: some Sequence<Int64>) -> String {
        "[" + ids.map(String.init).joined(separator: ",") + "]"
    }

    static func filterClause(_ filter: RecordFilter, alias r: String) -> (String, StatementArguments) {
        var sql = ""
        var arguments: StatementArguments = []
        if let after = filter.after {
            sql += " AND \(r).happened_at >= ?"
            arguments += [after.timeIntervalSince1970]
        }
        if let before = filter.before {
            sql += " AND \(r).happened_at < ?"
            arguments += [before.timeIntervalSince1970]
        }
        if !filter.sources.isEmpty {
            sql += " AND \(r).source IN (SELECT value FROM json_each(?))"
            arguments += ["[" + filter.sources.map(\.code).sorted().map(String.init).joined(separator: ",") + "]"]
        }
        if let trust = filter.minimumTrust {
            sql += " AND \(r).trust >= ?"
            arguments += [trust.rawValue]
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
