import AnimaCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Memory on a PostgreSQL server with pgvector: the same records, sealed the same way,
/// for users who outgrow one machine.
///
/// Full text uses `tsvector` over the same blinded terms (ranked by `ts_rank`, which,
/// unlike SQLite's BM25, has no inverse document frequency), tags a `text[]` of blinded
/// tags, and vectors a pgvector column with an HNSW index. The server must index the
/// vectors, so it receives them rotated by a secret per-namespace orthogonal transform
/// (see `VectorRotation`) rather than sealed.
actor PostgresBackend: StorageBackend {
    let dimensions: Int
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let parameters: VectorIndexParameters
    private var rotations: [MemoryNamespace: VectorRotation] = [:]
    private var isClosed = false

    private init(client: PostgresClient, runner: Task<Void, Never>, dimensions: Int, parameters: VectorIndexParameters) {
        self.client = client
        self.runner = runner
        self.dimensions = dimensions
        self.parameters = parameters
    }

    static func connect(
        _ location: PostgresLocation, dimensions: Int, parameters: VectorIndexParameters, keyCheck: Data
    ) async throws -> PostgresBackend {
        var configuration: PostgresClient.Configuration
        switch location.endpoint {
        case .tcp(let host, let port):
            configuration = .init(
                host: host, port: port, username: location.username, password: location.password,
                database: location.database, tls: .disable)
        case .unixSocket(let path):
            configuration = .init(
                unixSocketPath: path, username: location.username, password: location.password, database: location.database)
        }
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.maximumConnections = 4
        let client = PostgresClient(configuration: configuration)
        let runner = Task { await client.run() }
        let backend = PostgresBackend(client: client, runner: runner, dimensions: dimensions, parameters: parameters)
        do {
            try await backend.migrate(keyCheck: keyCheck)
        } catch {
            runner.cancel()
            throw error
        }
        return backend
    }

    private func migrate(keyCheck: Data) async throws {
        let statements = [
            "CREATE EXTENSION IF NOT EXISTS vector",
            "CREATE TABLE IF NOT EXISTS anima_meta(key text PRIMARY KEY, value bytea NOT NULL)",
            """
            CREATE TABLE IF NOT EXISTS anima_records(
                id bigserial PRIMARY KEY, usr text NOT NULL, agent text NOT NULL, kind smallint NOT NULL,
                created_at double precision NOT NULL, sealed bytea NOT NULL, terms tsvector NOT NULL,
                tags text[] NOT NULL DEFAULT '{}', embedding vector(\(dimensions)))
            """,
            "CREATE INDEX IF NOT EXISTS anima_records_namespace ON anima_records(usr, agent, kind, created_at)",
            "CREATE INDEX IF NOT EXISTS anima_records_terms ON anima_records USING gin(terms)",
            "CREATE INDEX IF NOT EXISTS anima_records_tags ON anima_records USING gin(tags)",
            """
            CREATE INDEX IF NOT EXISTS anima_records_embedding ON anima_records
                USING hnsw (embedding vector_ip_ops) WITH (m = \(parameters.m), ef_construction = \(parameters.efConstruction))
            """,
            // v3: when a record happened, who it came from, how far it is trusted (see the
            // SQLite backend's migration v3; the same codes, the same reading of old rows).
            "ALTER TABLE anima_records ADD COLUMN IF NOT EXISTS happened_at double precision",
            "ALTER TABLE anima_records ADD COLUMN IF NOT EXISTS source smallint",
            "ALTER TABLE anima_records ADD COLUMN IF NOT EXISTS trust smallint",
            """
            DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM anima_meta WHERE key = 'schema_v3') THEN
                    UPDATE anima_records SET happened_at = created_at WHERE happened_at IS NULL;
                    UPDATE anima_records SET source = \(MemorySource.agent.code), trust = \(MemoryTrust.unverified.rawValue)
                        WHERE kind = \(RecordKind.archival.rawValue) AND source IS NULL;
                    ALTER TABLE anima_records ALTER COLUMN happened_at SET NOT NULL;
                    INSERT INTO anima_meta(key, value) VALUES ('schema_v3', '\\x01'::bytea);
                END IF;
            END $$
            """,
            "CREATE INDEX IF NOT EXISTS anima_records_happened ON anima_records(usr, agent, kind, happened_at)",
            """
            CREATE TABLE IF NOT EXISTS anima_slots(
                usr text NOT NULL, agent text NOT NULL, name text NOT NULL, sealed bytea NOT NULL,
                updated_at double precision NOT NULL, PRIMARY KEY(usr, agent, name))
            """,
        ]
        try await run {
            // Two processes creating the schema at once must not both try.
            try await self.client.withConnection { connection in
                try await Self.drain(connection.query("SELECT pg_advisory_lock(4242)", logger: Self.logger))
                do {
                    for sql in statements {
                        try await Self.drain(connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger))
                    }
                    try await Self.drain(
                        connection.query(
                            "INSERT INTO anima_meta(key, value) VALUES ('key_check', \(Self.bytes(keyCheck))) ON CONFLICT DO NOTHING",
                            logger: Self.logger))
                    try await Self.drain(
                        connection.query(
                            "INSERT INTO anima_meta(key, value) VALUES ('dimensions', \(Self.bytes(Data(String(self.dimensions).utf8)))) ON CONFLICT DO NOTHING",
                            logger: Self.logger))
                    try await Self.drain(connection.query("SELECT pg_advisory_unlock(4242)", logger: Self.logger))
                } catch {
                    _ = try? await connection.query("SELECT pg_advisory_unlock(4242)", logger: Self.logger)
                    throw error
                }
            }
        }
        var stored: [String: Data] = [:]
        let rows = try await run { try await self.client.query("SELECT key, value FROM anima_meta") }
        for try await (key, value) in rows.decode((String, ByteBuffer).self) {
            stored[key] = Data(buffer: value)
        }
        if stored["key_check"] != keyCheck { throw StorageError.wrongKey("the PostgreSQL memory database") }
        if let width = stored["dimensions"].flatMap({ Int(String(decoding: $0, as: UTF8.self)) }), width != dimensions {
            throw StorageError.dimensionMismatch(expected: width, got: dimensions)
        }
    }

    private static let logger = Logger(label: "anima.memory.postgres")

    private static func bytes(_ data: Data) -> ByteBuffer { ByteBuffer(bytes: data) }

    /// Reads a result to its end: a row stream left unread holds its connection.
    private static func drain(_ rows: PostgresRowSequence) async throws {
        for try await _ in rows {}
    }

    private func run<T>(_ body: () async throws -> T) async throws -> T {
        if isClosed { throw StorageError.closed }
        do { return try await body() } catch let error as StorageError { throw error } catch let error as PSQLError {
            throw StorageError.database(String(reflecting: error))
        } catch {
            throw StorageError.database(String(describing: error))
        }
    }

    private func rotation(_ cipher: NamespaceCipher) -> VectorRotation {
        if let r = rotations[cipher.namespace] { return r }
        let r = VectorRotation(dimensions: dimensions, seed: cipher.rotationSeed)
        rotations[cipher.namespace] = r
        return r
    }

    // MARK: Records

    func insert(_ records: [NewRecord], cipher: NamespaceCipher) async throws -> [Int64] {
        let ns = cipher.namespace
        let rotation = rotation(cipher)
        for record in records {
            if let v = record.vector, v.count != dimensions { throw StorageError.dimensionMismatch(expected: dimensions, got: v.count) }
        }
        return try await run {
            try await client.withTransaction(logger: Self.logger) { connection in
                var ids: [Int64] = []
                for record in records {
                    let terms = record.terms.joined(separator: " ")
                    let tags = Array(Set(record.tags)).sorted()
                    let vector = record.vector.map(rotation.apply)
                    let rows = try await connection.query(
                        """
                        INSERT INTO anima_records(usr, agent, kind, created_at, happened_at, source, trust, sealed, terms, tags, embedding)
                        VALUES (\(ns.user), \(ns.agent), \(Int16(record.kind.rawValue)), \(record.createdAt.timeIntervalSince1970),
                                \(record.happenedAt.timeIntervalSince1970), \(Int16(record.source.code)), \(Int16(record.trust.rawValue)),
                                \(Self.bytes(record.sealed)), to_tsvector('simple', \(terms)), \(tags), \(vector)::real[]::vector)
                        RETURNING id
                        """, logger: Self.logger)
                    for try await id in rows.decode(Int64.self) { ids.append(id) }
                }
                return ids
            }
        }
    }

    func records(_ namespace: MemoryNamespace, kind: RecordKind, ids: [Int64]) async throws -> [StoredRecord] {
        guard !ids.isEmpty else { return [] }
        return try await fetch(
            """
            SELECT id, created_at, happened_at, source, trust, sealed FROM anima_records
            WHERE usr = \(namespace.user) AND agent = \(namespace.agent) AND kind = \(Int16(kind.rawValue)) AND id = ANY(\(ids))
            """)
    }

    private func fetch(_ query: PostgresQuery) async throws -> [StoredRecord] {
        try await run {
            let rows = try await client.query(query, logger: Self.logger)
            var out: [StoredRecord] = []
            for try await (id, created, happened, source, trust, sealed) in rows.decode(
                (Int64, Double, Double, Int16?, Int16?, ByteBuffer).self)
            {
                out.append(
                    StoredRecord(
                        id: id, createdAt: Date(timeIntervalSince1970: created), happenedAt: Date(timeIntervalSince1970: happened),
                        source: source.flatMap { MemorySource(code: Int($0)) }, trust: trust.flatMap { MemoryTrust(rawValue: Int($0)) },
                        sealed: Data(buffer: sealed)))
            }
            return out
        }
    }

    func list(
        _ namespace: MemoryNamespace, kind: RecordKind, filter: RecordFilter, newestFirst: Bool, limit: Int, offset: Int
    ) async throws -> [StoredRecord] {
        var q = QueryBuilder()
        q.sql = "SELECT id, created_at, happened_at, source, trust, sealed FROM anima_records WHERE "
        try q.namespace(namespace, kind)
        try q.filter(filter)
        let order = newestFirst ? "DESC" : "ASC"
        q.sql += " ORDER BY happened_at \(order), id \(order) LIMIT "
        try q.bind(Int64(limit))
        q.sql += " OFFSET "
        try q.bind(Int64(offset))
        return try await fetch(q.query)
    }

    func count(_ namespace: MemoryNamespace, kind: RecordKind, filter: RecordFilter) async throws -> Int {
        var q = QueryBuilder()
        q.sql = "SELECT count(*) FROM anima_records WHERE "
        try q.namespace(namespace, kind)
        try q.filter(filter)
        return try await run {
            let rows = try await client.query(q.query, logger: Self.logger)
            for try await n in rows.decode(Int64.self) { return Int(n) }
            return 0
        }
    }

    func textSearch(
        _ namespace: MemoryNamespace, kind: RecordKind, terms: [String], filter: RecordFilter, limit: Int,
        commonTermLimit: Int?
    ) async throws -> [Int64] {
        var seen = Set<String>()
        var unique = terms.filter { seen.insert($0).inserted }
        guard !unique.isEmpty, limit > 0 else { return [] }
        if let commonTermLimit {
            // Each term's records are counted only up to the limit, so counting a common
            // term stops early.
            var q = QueryBuilder()
            q.sql = "SELECT t FROM unnest("
            try q.bind(unique)
            q.sql += "::text[]) t WHERE (SELECT count(*) FROM (SELECT 1 FROM anima_records WHERE terms @@ to_tsquery('simple', t) AND "
            try q.namespace(namespace, kind)
            q.sql += " LIMIT "
            try q.bind(Int64(commonTermLimit) + 1)
            q.sql += ") held) <= "
            try q.bind(Int64(commonTermLimit))
            let query = q.query
            unique = try await run {
                var kept: [String] = []
                for try await term in try await client.query(query, logger: Self.logger).decode(String.self) { kept.append(term) }
                return kept
            }
            guard !unique.isEmpty else { return [] }
        }
        var q = QueryBuilder()
        q.sql = "SELECT id FROM anima_records, to_tsquery('simple', "
        try q.bind(unique.joined(separator: " | "))
        q.sql += ") query WHERE terms @@ query AND "
        try q.namespace(namespace, kind)
        try q.filter(filter)
        q.sql += " ORDER BY ts_rank(terms, query, 1) DESC, id DESC LIMIT "
        try q.bind(Int64(limit))
        return try await ids(q.query)
    }

    private func ids(_ query: PostgresQuery) async throws -> [Int64] {
        try await run {
            let rows = try await client.query(query, logger: Self.logger)
            var out: [Int64] = []
            for try await id in rows.decode(Int64.self) { out.append(id) }
            return out
        }
    }

    func vectorSearch(
        _ vector: [Float], kind: RecordKind, filter: RecordFilter, limit: Int, cipher: NamespaceCipher
    ) async throws -> [(id: Int64, distance: Float)] {
        guard vector.count == dimensions else { throw StorageError.dimensionMismatch(expected: dimensions, got: vector.count) }
        guard limit > 0 else { return [] }
        let rotated = rotation(cipher).apply(vector)
        func search(exact: Bool) async throws -> [(id: Int64, distance: Float)] {
            var q = QueryBuilder()
            q.sql = "SELECT id, (embedding <#> "
            let vectorBind = try q.bind(rotated, cast: "::real[]::vector")
            q.sql += ")::real FROM anima_records WHERE embedding IS NOT NULL AND "
            try q.namespace(cipher.namespace, kind)
            try q.filter(filter)
            // `+ 0` hides the ordering from the planner, forcing an exact scan of the
            // namespace's rows; pgvector's graph scan filters after searching, so a small
            // namespace in a large table can come back short.
            q.sql += exact ? " ORDER BY (embedding <#> \(vectorBind)) + 0 LIMIT " : " ORDER BY embedding <#> \(vectorBind) LIMIT "
            try q.bind(Int64(limit))
            let query = q.query
            let ef = min(1000, max(parameters.efSearch, limit * 2))
            return try await run {
                try await client.withTransaction(logger: Self.logger) { connection in
                    try await Self.drain(
                        connection.query(PostgresQuery(unsafeSQL: "SET LOCAL hnsw.ef_search = \(ef)"), logger: Self.logger))
                    let rows = try await connection.query(query, logger: Self.logger)
                    var out: [(id: Int64, distance: Float)] = []
                    // <#> is the negative inner product; distance is 1 - cosine.
                    for try await (id, negativeDot) in rows.decode((Int64, Float).self) { out.append((id, 1 + negativeDot)) }
                    return out
                }
            }
        }
        let approximate = try await search(exact: false)
        if approximate.count >= limit { return approximate }
        return try await search(exact: true)
    }

    func erase(kind: RecordKind, ids: [Int64], cipher: NamespaceCipher) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let ns = cipher.namespace
        let erased = try await self.ids(
            """
            DELETE FROM anima_records
            WHERE usr = \(ns.user) AND agent = \(ns.agent) AND kind = \(Int16(kind.rawValue)) AND id = ANY(\(ids))
            RETURNING id
            """)
        if !erased.isEmpty { try await vacuum() }
        return erased.count
    }

    /// Removes dead row versions and their index entries now rather than at the next
    /// autovacuum, so erased vectors leave the graph and the table's live pages.
    private func vacuum() async throws {
        try await run { try await Self.drain(client.query("VACUUM anima_records", logger: Self.logger)) }
    }

    func eraseNamespace(_ cipher: NamespaceCipher) async throws {
        let ns = cipher.namespace
        try await run {
            try await client.withTransaction(logger: Self.logger) { connection in
                try await Self.drain(
                    connection.query(
                        "DELETE FROM anima_records WHERE usr = \(ns.user) AND agent = \(ns.agent)", logger: Self.logger))
                try await Self.drain(
                    connection.query(
                        "DELETE FROM anima_slots WHERE usr = \(ns.user) AND agent = \(ns.agent)", logger: Self.logger))
            }
        }
        try await vacuum()
    }

    func namespaces(user: String) async throws -> [MemoryNamespace] {
        try await run {
            let rows = try await client.query(
                "SELECT agent FROM anima_records WHERE usr = \(user) UNION SELECT agent FROM anima_slots WHERE usr = \(user) ORDER BY 1",
                logger: Self.logger)
            var out: [MemoryNamespace] = []
            for try await agent in rows.decode(String.self) {
                if let ns = try? MemoryNamespace(user: user, agent: agent) { out.append(ns) }
            }
            return out
        }
    }

    // MARK: Core-memory blocks (table anima_slots)

    func blocks(_ namespace: MemoryNamespace) async throws -> [StoredBlock] {
        try await run {
            let rows = try await client.query(
                "SELECT name, sealed FROM anima_slots WHERE usr = \(namespace.user) AND agent = \(namespace.agent) ORDER BY name",
                logger: Self.logger)
            var out: [StoredBlock] = []
            for try await (name, sealed) in rows.decode((String, ByteBuffer).self) {
                out.append(StoredBlock(name: name, sealed: Data(buffer: sealed)))
            }
            return out
        }
    }

    func putBlock(_ namespace: MemoryNamespace, _ block: StoredBlock) async throws {
        try await run {
            try await Self.drain(
                client.query(
                    """
                    INSERT INTO anima_slots(usr, agent, name, sealed, updated_at)
                    VALUES (\(namespace.user), \(namespace.agent), \(block.name), \(Self.bytes(block.sealed)), \(Date().timeIntervalSince1970))
                    ON CONFLICT (usr, agent, name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at
                    """, logger: Self.logger))
        }
    }

    func deleteBlock(_ namespace: MemoryNamespace, name: String) async throws {
        try await run {
            try await Self.drain(
                client.query(
                    "DELETE FROM anima_slots WHERE usr = \(namespace.user) AND agent = \(namespace.agent) AND name = \(name)",
                    logger: Self.logger))
        }
    }

    func close() async throws {
        guard !isClosed else { return }
        isClosed = true
        runner.cancel()
    }
}

/// Builds a statement with a variable number of conditions, numbering the binds.
private struct QueryBuilder {
    var sql = ""
    var binds = PostgresBindings()

    var query: PostgresQuery { PostgresQuery(unsafeSQL: sql, binds: binds) }

    @discardableResult
    mutating func bind<T: PostgresThrowingDynamicTypeEncodable>(_ value: T, cast: String = "") throws -> String {
        try binds.append(value)
        let placeholder = "$\(binds.count)\(cast)"
        sql += placeholder
        return placeholder
    }

    mutating func namespace(_ ns: MemoryNamespace, _ kind: RecordKind) throws {
        sql += "usr = "
        try bind(ns.user)
        sql += " AND agent = "
        try bind(ns.agent)
        sql += " AND kind = "
        try bind(Int16(kind.rawValue))
    }

    mutating func filter(_ filter: RecordFilter) throws {
        if let after = filter.after {
            sql += " AND happened_at >= "
            try bind(after.timeIntervalSince1970)
        }
        if let before = filter.before {
            sql += " AND happened_at < "
            try bind(before.timeIntervalSince1970)
        }
        if !filter.sources.isEmpty {
            sql += " AND source = ANY("
            try bind(filter.sources.map { Int16($0.code) }.sorted())
            sql += ")"
        }
        if let trust = filter.minimumTrust {
            sql += " AND trust >= "
            try bind(Int16(trust.rawValue))
        }
        if !filter.tags.isEmpty {
            sql += " AND tags @> "
            try bind(Array(Set(filter.tags)).sorted())
        }
        if !filter.excluded.isEmpty {
            sql += " AND NOT (id = ANY("
            try bind(filter.excluded.sorted())
            sql += "))"
        }
    }
}
