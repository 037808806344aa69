import AnimaCore
import Foundation
import Logging
import PostgresNIO

/// The workflow store shared by daemons on any number of machines: one PostgreSQL database
/// whose run table is the queue. Daemons lease runs with `FOR UPDATE SKIP LOCKED` (two never
/// take one run; none waits on another's row lock) and renew leases with heartbeats; a killed
/// daemon's runs pass to another once their lease ends. Times are the server's clock, so
/// machines' clocks need not agree.
///
/// Values are sealed as in SQLite, with `workflows.key`: every daemon sharing the database
/// needs the same key file (copy it from the first daemon's data directory); a daemon with
/// another key is refused at start rather than writing what the others cannot read.
public actor PostgresWorkflowStore: WorkflowStore {
    let client: PostgresClient
    let probe: PostgresConnection.Configuration
    let runner: Task<Void, Never>
    nonisolated let sealer: RunSealer
    public nonisolated let location: String
    /// Creates the schema and checks the key, once, before the first query.
    var ready: Task<Void, any Error>?
    /// Whether the benchmark's anchor table exists yet.
    var anchorReady = false

    static let logger = Logger(label: "anima.workflows.postgres")
    /// The server's clock in seconds since 1970.
    static let now = "extract(epoch from clock_timestamp())::float8"
    static let open = "('pending', 'running', 'waiting')"

    /// Connects lazily to `url` (see `PostgresWorkflowLocation`), sealing with `workflows.key`
    /// in `keyDirectory`.
    public init(url: String, keyDirectory: URL, maximumConnections: Int = 8) throws(WorkflowError) {
        let location = try PostgresWorkflowLocation(url: url)
        do {
            try FileManager.default.createDirectory(
                at: keyDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .storage("could not create \(keyDirectory.path): \(DurableFile.reason(of: error))")
        }
        sealer = try RunSealer(keyFile: keyDirectory.appendingPathComponent("workflows.key").path)
        var configuration = location.configuration
        configuration.options.maximumConnections = max(2, maximumConnections)
        let client = PostgresClient(configuration: configuration)
        self.client = client
        runner = Task { await client.run() }
        self.location = location.description
        probe = location.probe
    }

    deinit { runner.cancel() }

    // MARK: plumbing

    func prepare() async throws {
        if let ready { return try await ready.value }
        let task = Task { try await self.migrate() }
        ready = task
        do { try await task.value } catch {
            ready = nil
            throw error
        }
    }

    func migrate() async throws {
        // One direct connection first: the pool would retry a refused one for minutes.
        try await PostgresConnection.connect(configuration: probe, id: 0, logger: Self.logger).close()
        let schema = [
            "CREATE TABLE IF NOT EXISTS anima_wf_meta(key text PRIMARY KEY, value text NOT NULL)",
            """
            CREATE TABLE IF NOT EXISTS anima_wf_workflow(
                name text PRIMARY KEY, version bigint NOT NULL, owner text NOT NULL, groups text NOT NULL,
                definition text NOT NULL, webhook_secret text, added float8 NOT NULL)
            """,
            """
            CREATE TABLE IF NOT EXISTS anima_wf_run(
                id text PRIMARY KEY, workflow text NOT NULL, version bigint NOT NULL, definition text NOT NULL,
                owner text NOT NULL, groups text NOT NULL, status text NOT NULL, inputs text NOT NULL,
                inputs_label text NOT NULL, output text, output_label text, error text, trigger text NOT NULL,
                parent text, created float8 NOT NULL, updated float8 NOT NULL, cancel_requested boolean NOT NULL DEFAULT false,
                lease_owner text, lease_until float8 NOT NULL DEFAULT 0)
            """,
            // What a daemon must serve to lease the run (Workflow.needs); empty: anyone.
            "ALTER TABLE anima_wf_run ADD COLUMN IF NOT EXISTS needs text[] NOT NULL DEFAULT '{}'",
            "CREATE INDEX IF NOT EXISTS anima_wf_run_open ON anima_wf_run(created) WHERE status IN \(Self.open)",
            "CREATE INDEX IF NOT EXISTS anima_wf_run_workflow ON anima_wf_run(workflow, created)",
            """
            CREATE TABLE IF NOT EXISTS anima_wf_step(
                run text NOT NULL, path text NOT NULL, attempt bigint NOT NULL, status text NOT NULL,
                key text NOT NULL, output text, output_label text, error text, started float8 NOT NULL, finished float8,
                PRIMARY KEY (run, path))
            """,
            """
            CREATE TABLE IF NOT EXISTS anima_wf_history(
                sequence bigserial PRIMARY KEY, run text NOT NULL, at float8 NOT NULL, event text NOT NULL,
                path text, detail text NOT NULL)
            """,
            "CREATE INDEX IF NOT EXISTS anima_wf_history_run ON anima_wf_history(run, sequence)",
            "CREATE TABLE IF NOT EXISTS anima_wf_trigger_lease(key text PRIMARY KEY, owner text NOT NULL, until float8 NOT NULL)",
        ]
        let check = try sealer.seal("anima workflows key check")
        let stored: String? = try await client.withConnection { c in
            // Two daemons creating the schema at once must not both try.
            try await Self.drain(c.query("SELECT pg_advisory_lock(4243)", logger: Self.logger))
            do {
                for sql in schema { try await Self.drain(c.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger)) }
                try await Self.drain(
                    c.query(
                        "INSERT INTO anima_wf_meta(key, value) VALUES ('key_check', \(check)) ON CONFLICT DO NOTHING",
                        logger: Self.logger))
                let rows = try await Self.rows(c.query("SELECT value FROM anima_wf_meta WHERE key = 'key_check'", logger: Self.logger))
                try await Self.drain(c.query("SELECT pg_advisory_unlock(4243)", logger: Self.logger))
                return try rows.first?["value"].decode(String.self)
            } catch {
                _ = try? await c.query("SELECT pg_advisory_unlock(4243)", logger: Self.logger)
                throw error
            }
        }
        let opened: String? = stored.flatMap { text in try? sealer.unseal(text) as String }
        guard opened == "anima workflows key check" else {
            throw WorkflowError.storage(
                "\(location) was set up with another workflows.key; copy workflows.key from the first daemon's data directory into this one's"
            )
        }
    }

    static func drain(_ rows: PostgresRowSequence) async throws { for try await _ in rows {} }

    static func rows(_ rows: PostgresRowSequence) async throws -> [PostgresRandomAccessRow] {
        var out: [PostgresRandomAccessRow] = []
        for try await row in rows { out.append(row.makeRandomAccess()) }
        return out
    }

    /// Runs `body` in one transaction (committed before it returns), mapping errors.
    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws(WorkflowError) -> T {
        do {
            try await prepare()
            return try await client.withTransaction(logger: Self.logger) { c in try await body(c) }
        } catch let error as WorkflowError {
            throw error
        } catch let error as PostgresTransactionError {
            if let e = error.closureError as? WorkflowError { throw e }
            throw .storage("\(location): \(String(reflecting: error))")
        } catch {
            throw .storage("\(location): \(String(reflecting: error))")
        }
    }

    /// One statement, its rows read to the end.
    func query(_ query: PostgresQuery) async throws(WorkflowError) -> [PostgresRandomAccessRow] {
        do {
            try await prepare()
            return try await Self.rows(client.query(query, logger: Self.logger))
        } catch let error as WorkflowError {
            throw error
        } catch {
            throw .storage("\(location): \(String(reflecting: error))")
        }
    }

    static func history(_ c: PostgresConnection, run: String, path: String?, event: String, sealed: String) async throws {
        try await drain(
            c.query(
                "INSERT INTO anima_wf_history(run, at, event, path, detail) VALUES (\(run), \(unescaped: now), \(event), \(path), \(sealed))",
                logger: logger))
    }

    static func groups(_ text: String) -> Set<String> { Set(text.split(separator: ",").map(String.init)) }

    // MARK: workflows

    public func save(_ workflow: Workflow, owner: Principal, webhookSecret: String?) async throws(WorkflowError) {
        let definition = try seal(workflow.source.jsonText)
        let secret = try seal(webhookSecret)
        let groups = owner.groups.sorted().joined(separator: ",")
        _ = try await transaction { c in
            try await Self.drain(
                c.query(
                    """
                    INSERT INTO anima_wf_workflow(name, version, owner, groups, definition, webhook_secret, added)
                    VALUES (\(workflow.name), \(workflow.version), \(owner.name), \(groups), \(definition), \(secret), \(unescaped: Self.now))
                    ON CONFLICT(name) DO UPDATE SET version = excluded.version, owner = excluded.owner, groups = excluded.groups,
                        definition = excluded.definition,
                        webhook_secret = COALESCE(anima_wf_workflow.webhook_secret, excluded.webhook_secret), added = excluded.added
                    """, logger: Self.logger))
        }
    }

    func seal(_ text: String) throws(WorkflowError) -> String {
        do { return try sealer.seal(text) } catch { throw error as? WorkflowError ?? .storage("\(error)") }
    }

    func seal(_ text: String?) throws(WorkflowError) -> String? {
        guard let text else { return nil }
        return try seal(text)
    }

    func decoding<T>(_ body: () throws -> T) throws(WorkflowError) -> T {
        do { return try body() } catch let error as WorkflowError { throw error } catch {
            throw .storage("\(location): a stored row does not read back: \(String(reflecting: error))")
        }
    }

    func stored(_ row: PostgresRandomAccessRow) throws -> StoredWorkflow {
        StoredWorkflow(
            workflow: try Workflow(parsing: try sealer.unseal(try row["definition"].decode(String.self))),
            owner: Principal(name: try row["owner"].decode(String.self), groups: Self.groups(try row["groups"].decode(String.self))),
            added: Date(timeIntervalSince1970: try row["added"].decode(Double.self)),
            webhookSecret: try sealer.unseal(try row["webhook_secret"].decode(String?.self)))
    }

    public func workflow(named name: String) async throws(WorkflowError) -> StoredWorkflow? {
        let rows = try await query("SELECT * FROM anima_wf_workflow WHERE name = \(name)")
        return try decoding { try rows.first.map(stored) }
    }

    public func workflows() async throws(WorkflowError) -> [StoredWorkflow] {
        let rows = try await query("SELECT * FROM anima_wf_workflow ORDER BY name")
        return try decoding { try rows.map(stored) }
    }

    public func removeWorkflow(named name: String) async throws(WorkflowError) -> Bool {
        try await !query("DELETE FROM anima_wf_workflow WHERE name = \(name) RETURNING name").isEmpty
    }

    // MARK: runs

    func run(_ row: PostgresRandomAccessRow) throws -> WorkflowRun {
        let inputs = try sealer.unseal(try row["inputs"].decode(String.self))
        let output = try sealer.unseal(try row["output"].decode(String?.self))
        let outputLabel = try row["output_label"].decode(String?.self) ?? ""
        return WorkflowRun(
            id: try row["id"].decode(String.self), workflow: try row["workflow"].decode(String.self),
            version: Int(try row["version"].decode(Int64.self)),
            owner: Principal(name: try row["owner"].decode(String.self), groups: Self.groups(try row["groups"].decode(String.self))),
            status: RunStatus(rawValue: try row["status"].decode(String.self)) ?? .failed,
            inputs: LabeledValue(
                try JSONValue(parsing: inputs), label: ProvenanceLabel(storedText: try row["inputs_label"].decode(String.self))),
            output: try output.map { LabeledValue(try JSONValue(parsing: $0), label: ProvenanceLabel(storedText: outputLabel)) },
            error: try sealer.unseal(try row["error"].decode(String?.self)), trigger: try row["trigger"].decode(String.self),
            parent: try row["parent"].decode(String?.self), created: Date(timeIntervalSince1970: try row["created"].decode(Double.self)),
            updated: Date(timeIntervalSince1970: try row["updated"].decode(Double.self)),
            cancelRequested: try row["cancel_requested"].decode(Bool.self))
    }

    /// A run's row as sealed for insertion.
    struct NewRun: Sendable {
        var id, workflow, definition, owner, groups, inputs, label, trigger, createdNote: String
        var version: Int
        var parent: String?
        var needs: [String]
    }

    func newRun(id: String, of stored: StoredWorkflow, owner: Principal, inputs: LabeledValue, trigger: String, parent: String?)
        throws(WorkflowError) -> NewRun
    {
        NewRun(
            id: id, workflow: stored.workflow.name, definition: try seal(stored.workflow.source.jsonText), owner: owner.name,
            groups: owner.groups.sorted().joined(separator: ","), inputs: try seal(inputs.value.jsonText), label: inputs.label.storedText,
            trigger: trigger, createdNote: try seal("by \(trigger) as \(owner)"), version: stored.workflow.version, parent: parent,
            needs: stored.workflow.needs.sorted())
    }

    /// Inserts a pending run unless one with its id exists.
    static func insert(_ r: NewRun, _ c: PostgresConnection) async throws {
        let inserted = try await rows(
            c.query(
                """
                INSERT INTO anima_wf_run(id, workflow, version, definition, owner, groups, status, inputs, inputs_label, trigger, parent,
                    created, updated, needs)
                VALUES (\(r.id), \(r.workflow), \(r.version), \(r.definition), \(r.owner), \(r.groups), 'pending',
                    \(r.inputs), \(r.label), \(r.trigger), \(r.parent), \(unescaped: now), \(unescaped: now), \(r.needs))
                ON CONFLICT(id) DO NOTHING RETURNING id
                """, logger: logger))
        if !inserted.isEmpty { try await history(c, run: r.id, path: nil, event: "created", sealed: r.createdNote) }
    }

    public func createRun(
        id: String, of stored: StoredWorkflow, owner: Principal, inputs: LabeledValue, trigger: String, parent: String?
    ) async throws(WorkflowError) -> WorkflowRun {
        let new = try newRun(id: id, of: stored, owner: owner, inputs: inputs, trigger: trigger, parent: parent)
        let rows = try await transaction { c in
            try await Self.insert(new, c)
            return try await Self.rows(c.query("SELECT * FROM anima_wf_run WHERE id = \(id)", logger: Self.logger))
        }
        guard let row = rows.first else { throw .storage("\(location): run \(id) vanished as it was created") }
        return try decoding { try run(row) }
    }

    public func run(_ id: String) async throws(WorkflowError) -> WorkflowRun? {
        let rows = try await query("SELECT * FROM anima_wf_run WHERE id = \(id)")
        return try decoding { try rows.first.map(run) }
    }

    public func definition(ofRun id: String) async throws(WorkflowError) -> Workflow? {
        let rows = try await query("SELECT definition FROM anima_wf_run WHERE id = \(id)")
        guard let row = rows.first else { return nil }
        let text = try decoding { try sealer.unseal(try row["definition"].decode(String.self)) }
        return try Workflow(parsing: text)
    }

    public func runs(workflow: String?, limit: Int) async throws(WorkflowError) -> [WorkflowRun] {
        let rows =
            if let workflow {
                try await query("SELECT * FROM anima_wf_run WHERE workflow = \(workflow) ORDER BY created DESC, id LIMIT \(limit)")
            } else {
                try await query("SELECT * FROM anima_wf_run ORDER BY created DESC, id LIMIT \(limit)")
            }
        return try decoding { try rows.map(run) }
    }

    public func claimableRuns(worker: String, limit: Int, serving: Set<String>?) async throws(WorkflowError) -> [String] {
        let rows = try await query(
            """
            SELECT id FROM anima_wf_run WHERE status IN \(unescaped: Self.open)
            AND (lease_until < \(unescaped: Self.now) OR lease_owner = \(worker)) AND (\(serving == nil) OR needs <@ \(Array(serving ?? [])))
            ORDER BY created LIMIT \(limit)
            """)
        return try decoding { try rows.map { try $0["id"].decode(String.self) } }
    }

    /// Takes up to `limit` runs in one statement: rows another daemon is leasing at this
    /// instant are skipped, not waited on.
    public func leaseRuns(
        worker: String, leaseSeconds: Double, limit: Int, skipping busy: Set<String>, serving: Set<String>?
    ) async throws(WorkflowError) -> [String] {
        guard limit > 0 else { return [] }
        let skip = Array(busy)
        let rows = try await query(
            """
            UPDATE anima_wf_run SET lease_owner = \(worker), lease_until = \(unescaped: Self.now) + \(leaseSeconds)
            WHERE id IN (
                SELECT id FROM anima_wf_run WHERE status IN \(unescaped: Self.open)
                AND (lease_until < \(unescaped: Self.now) OR lease_owner = \(worker)) AND NOT (id = ANY(\(skip)))
                AND (\(serving == nil) OR needs <@ \(Array(serving ?? [])))
                ORDER BY created LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING id
            """)
        return try decoding { try rows.map { try $0["id"].decode(String.self) } }
    }

    public func claim(_ id: String, worker: String, leaseSeconds: Double, serving: Set<String>?) async throws(WorkflowError) -> Bool {
        try await !query(
            """
            UPDATE anima_wf_run SET lease_owner = \(worker), lease_until = \(unescaped: Self.now) + \(leaseSeconds)
            WHERE id = \(id) AND status IN \(unescaped: Self.open) AND (lease_until < \(unescaped: Self.now) OR lease_owner = \(worker))
            AND (\(serving == nil) OR needs <@ \(Array(serving ?? [])))
            RETURNING id
            """
        ).isEmpty
    }

    public func release(_ id: String, worker: String) async throws(WorkflowError) {
        _ = try await query("UPDATE anima_wf_run SET lease_until = 0 WHERE id = \(id) AND lease_owner = \(worker) RETURNING id")
    }

    public func finish(_ id: String, status: RunStatus, output: LabeledValue?, error: String?, followers: [PendingRun])
        async throws(WorkflowError)
    {
        var next: [NewRun] = []
        for f in followers {
            next.append(try newRun(id: f.id, of: f.workflow, owner: f.owner, inputs: f.inputs, trigger: f.trigger, parent: nil))
        }
        let sealedOutput = try seal(output?.value.jsonText)
        let sealedError = try seal(error)
        let detail = try seal(error ?? "")
        let label = output?.label.storedText
        _ = try await transaction { c in
            try await Self.drain(
                c.query(
                    """
                    UPDATE anima_wf_run SET status = \(status.rawValue), output = \(sealedOutput), output_label = \(label),
                        error = \(sealedError), updated = \(unescaped: Self.now), lease_until = 0 WHERE id = \(id)
                    """, logger: Self.logger))
            try await Self.history(c, run: id, path: nil, event: status.rawValue, sealed: detail)
            for r in next { try await Self.insert(r, c) }
        }
    }

    public func setStatus(_ id: String, _ status: RunStatus, detail: String) async throws(WorkflowError) {
        let sealed = try seal(detail)
        _ = try await transaction { c in
            let changed = try await Self.rows(
                c.query(
                    """
                    UPDATE anima_wf_run SET status = \(status.rawValue), updated = \(unescaped: Self.now)
                    WHERE id = \(id) AND status <> \(status.rawValue) RETURNING id
                    """, logger: Self.logger))
            if !changed.isEmpty { try await Self.history(c, run: id, path: nil, event: status.rawValue, sealed: sealed) }
        }
    }

    public func requestCancel(_ id: String) async throws(WorkflowError) -> Bool {
        let sealed = try seal("")
        return try await transaction { c in
            let changed = try await Self.rows(
                c.query(
                    "UPDATE anima_wf_run SET cancel_requested = true WHERE id = \(id) AND status IN \(unescaped: Self.open) RETURNING id",
                    logger: Self.logger))
            guard !changed.isEmpty else { return false }
            try await Self.history(c, run: id, path: nil, event: "cancel-requested", sealed: sealed)
            return true
        }
    }

    public func cancelRequested(_ id: String) async throws(WorkflowError) -> Bool {
        let rows = try await query("SELECT cancel_requested FROM anima_wf_run WHERE id = \(id)")
        return try decoding { try rows.first?["cancel_requested"].decode(Bool.self) ?? false }
    }

    /// Closes the connections (a test or a benchmark done with the store).
    public func close() {
        runner.cancel()
    }
}
