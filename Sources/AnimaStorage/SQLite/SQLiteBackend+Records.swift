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
                let lookup = try db.cachedStatement(
                    sql: """
                        SELECT \(Self.recordColumns) FROM records
                        WHERE +user = ? AND agent = ? AND kind = ? AND id IN (SELECT value FROM json_each(?))
                        """)
                return try Row.fetchAll(lookup, arguments: [namespace.user, namespace.agent, kind.rawValue, Self.jsonArray(ids)])
                    .map(Self.record)
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

    /// Runs on a thread of its own, beside the actor's: a hybrid search's vector search
    /// (on the actor, which holds the graphs) and its full-text search overlap.
    nonisolated func textSearch(
        _ namespace: MemoryNamespace, kind: RecordKind, terms: [String], filter: RecordFilter, limit: Int,
        commonTermLimit: Int?
    ) async throws -> [Int64] {
        try await searchThread.run {
            try self.searchText(namespace, kind: kind, terms: terms, filter: filter, limit: limit, commonTermLimit: commonTermLimit)
        }
    }

    nonisolated func searchText(
        _ namespace: MemoryNamespace, kind: RecordKind, terms: [String], filter: RecordFilter, limit: Int,
        commonTermLimit: Int?
    ) throws -> [Int64] {
        var seen = Set<String>()
        let unique = terms.filter { seen.insert($0).inserted }
        guard !unique.isEmpty, limit > 0 else { return [] }
        let (clause, arguments) = Self.filterClause(filter, alias: "r")
        return try reading {
            try pool.read { db in
                // Terms are blinded per namespace, not per kind: a kind with no records
                // would otherwise rank every posting of the other kind only to reject it.
                let any = try db.cachedStatement(sql: "SELECT EXISTS(SELECT 1 FROM records WHERE user = ? AND agent = ? AND kind = ?)")
                guard try Bool.fetchOne(any, arguments: [namespace.user, namespace.agent, kind.rawValue]) == true else { return [] }
                // The rarest terms first, within the postings budget (the rarest always).
                let documents = try db.cachedStatement(
                    sql: "SELECT term, documents FROM term_documents WHERE term IN (SELECT value FROM json_each(?))")
                var counts: [(term: String, documents: Int)] = []
                for row in try Row.fetchAll(documents, arguments: [Self.jsonArray(strings: unique)]) {
                    let count: Int = row["documents"]
                    if count > 0 && count <= commonTermLimit ?? .max { counts.append((row["term"], count)) }
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
                // The index first, alone: terms are blinded per namespace, so nearly every
                // posting is this namespace's, and ranking postings without reading each
                // one's record row halves the search. When too few of the best pass the
                // namespace, kind and filter, the joined query ranks only those that pass.
                let wide = limit * 4
                let ranked = try Int64.fetchAll(
                    try db.cachedStatement(
                        sql: "SELECT rowid FROM record_terms WHERE record_terms MATCH ? ORDER BY bm25(record_terms), rowid DESC LIMIT ?"),
                    arguments: [match, wide])
                let passing = try Self.passing(ranked, namespace: namespace, kind: kind, filter: (clause, arguments), in: db)
                if ranked.count < wide || passing.count >= limit {
                    return Array(ranked.filter(passing.contains).prefix(limit))
                }
                // CROSS JOIN keeps the index as the outer loop: with a time range, SQLite
                // would otherwise walk every record of the period and match each one
                // (380 ms for a month of 100k records, against 13 ms).
                let search = try db.cachedStatement(
                    sql: """
                        SELECT r.id FROM record_terms CROSS JOIN records r ON r.id = record_terms.rowid
                        WHERE record_terms MATCH ? AND r.user = ? AND r.agent = ? AND r.kind = ?\(clause)
                        ORDER BY bm25(record_terms), r.id DESC LIMIT ?
                        """)
                return try Int64.fetchAll(search, arguments: [match, namespace.user, namespace.agent, kind.rawValue] + arguments + [limit])
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
            // A filter that rejects most of the nearest (a quiet month, one source) would
            // widen the graph search toward the whole index, with every label checked
            // against the database: 300 ms at 100k records. Few records pass such a
            // filter, so measuring each of them is faster and exact.
            if !filter.isEmpty, k > Self.widestFilteredSearch,
                let exact = try exactSearch(vector, in: loaded.index, namespace: cipher.namespace, kind: kind, filter: filter, limit: limit)
            {
                return exact
            }
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

    /// The `limit` nearest of the records that pass `filter`, each measured, when at most
    /// `exactSearchLimit` pass; nil when more do.
    func exactSearch(
        _ vector: [Float], in index: VectorIndex, namespace: MemoryNamespace, kind: RecordKind, filter: RecordFilter, limit: Int
    ) throws -> [(id: Int64, distance: Float)]? {
        let (clause, arguments) = Self.filterClause(filter, alias: "r")
        let ids = try database {
            try pool.read { db in
                try Int64.fetchAll(
                    db, sql: "SELECT r.id FROM records r WHERE r.user = ? AND r.agent = ? AND r.kind = ?\(clause) LIMIT ?",
                    arguments: [namespace.user, namespace.agent, kind.rawValue] + arguments + [Self.exactSearchLimit + 1])
            }
        }
        guard ids.count <= Self.exactSearchLimit else { return nil }
        var measured: [(id: Int64, distance: Float)] = []
        for id in ids {
            guard let stored = index.vector(UInt64(id)) else { continue }
            var dot: Float = 0
            for i in 0..<min(stored.count, vector.count) { dot += stored[i] * vector[i] }
            measured.append((id, 1 - dot))
        }
        measured.sort { $0.distance != $1.distance ? $0.distance < $1.distance : $0.id > $1.id }
        return Array(measured.prefix(limit))
    }

    func passing(_ ids: [Int64], namespace: MemoryNamespace, kind: RecordKind, filter: RecordFilter) throws -> Set<Int64> {
        try database {
            try pool.read { db in
                try Self.passing(ids, namespace: namespace, kind: kind, filter: Self.filterClause(filter, alias: "r"), in: db)
            }
        }
    }

    /// Which of `ids` are the namespace's records of `kind` and pass the filter clause.
    static func passing(
        _ ids: [Int64], namespace: MemoryNamespace, kind: RecordKind, filter: (clause: String, arguments: StatementArguments),
        in db: Database
    ) throws -> Set<Int64> {
        let statement = try db.cachedStatement(
            sql: """
                SELECT r.id FROM records r WHERE +r.user = ? AND r.agent = ? AND r.kind = ?
                AND r.id IN (SELECT value FROM json_each(?))\(filter.clause)
                """)
        return Set(try Int64.fetchAll(statement, arguments: [namespace.user, namespace.agent, kind.rawValue, jsonArray(ids)] + filter.arguments))
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

    func unsourcedMessages(limit: Int) throws -> [(namespace: MemoryNamespace, id: Int64, sealed: Data)] {
        try database {
            try pool.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT id, user, agent, sealed FROM records WHERE source IS NULL AND kind = ? ORDER BY id LIMIT ?",
                    arguments: [RecordKind.recall.rawValue, limit]
                ).compactMap { row in
                    guard let namespace = try? MemoryNamespace(user: row["user"], agent: row["agent"]) else { return nil }
                    return (namespace, row["id"], row["sealed"])
                }
            }
        }
    }

    func setSources(_ updates: [(id: Int64, source: MemorySource, trust: MemoryTrust)]) throws {
        guard !updates.isEmpty else { return }
        try database {
            try pool.write { db in
                for update in updates {
                    try db.execute(
                        sql: "UPDATE records SET source = ?, trust = ? WHERE id = ?",
                        arguments: [update.source.code, update.trust.rawValue, update.id])
                }
            }
        }
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

    static func jsonArray(strings: [String]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: strings)) ?? Data("[]".utf8), as: UTF8.self)
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
