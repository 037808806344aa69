import AnimaCore
import Foundation
import GRDB

/// The workflow store on this machine: one SQLite database (WAL, synchronous = FULL) in the
/// data directory, readable only by its owner. Definitions, inputs, outputs, errors, history
/// details and webhook secrets are sealed (`RunSealer`, key in `workflows.key`).
///
/// The actor runs on its own thread: every commit waits on fsync.
public actor SQLiteWorkflowStore: WorkflowStore {
    private let thread = DedicatedThread(name: "anima-workflows", stackSize: 1 << 20)
    public nonisolated var unownedExecutor: UnownedSerialExecutor { thread.asUnownedSerialExecutor() }
    let queue: DatabaseQueue
    public nonisolated let path: String
    nonisolated let sealer: RunSealer
    /// Whether the benchmark's anchor table exists yet.
    private var anchorReady = false
    /// Step writes waiting for the next group commit, each with its caller.
    private var pending: [(body: (Database) throws -> Void, done: CheckedContinuation<Void, any Error>)] = []
    /// Group commits made so far (each one transaction, one fsync).
    private(set) var groupCommits = 0

    /// Opens (creating if needed) `workflows.sqlite` in `directory`.
    public init(directory: URL) throws(WorkflowError) {
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .storage("could not create \(directory.path): \(DurableFile.reason(of: error))")
        }
        path = directory.appendingPathComponent("workflows.sqlite").path
        sealer = try RunSealer(keyFile: directory.appendingPathComponent("workflows.key").path)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            let existed = FileManager.default.fileExists(atPath: path)
            queue = try DatabaseQueue(path: path, configuration: configuration)
            if !existed { chmod(path, 0o600) }
            try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
            try Self.migrator.migrate(queue)
        } catch {
            throw .storage("could not open \(path): \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE workflow (
                        name TEXT PRIMARY KEY, version INTEGER NOT NULL, owner TEXT NOT NULL, groups TEXT NOT NULL,
                        definition TEXT NOT NULL, webhook_secret TEXT, added REAL NOT NULL);
                    CREATE TABLE run (
                        id TEXT PRIMARY KEY, workflow TEXT NOT NULL, version INTEGER NOT NULL, definition TEXT NOT NULL,
                        owner TEXT NOT NULL, groups TEXT NOT NULL, status TEXT NOT NULL, inputs TEXT NOT NULL,
                        inputs_label TEXT NOT NULL, output TEXT, output_label TEXT, error TEXT, trigger TEXT NOT NULL,
                        parent TEXT, created REAL NOT NULL, updated REAL NOT NULL, cancel_requested INTEGER NOT NULL DEFAULT 0,
                        lease_owner TEXT, lease_until REAL NOT NULL DEFAULT 0);
                    CREATE INDEX run_open ON run(status, created);
                    CREATE INDEX run_workflow ON run(workflow, created);
                    CREATE TABLE step (
                        run TEXT NOT NULL, path TEXT NOT NULL, attempt INTEGER NOT NULL, status TEXT NOT NULL,
                        key TEXT NOT NULL, output TEXT, output_label TEXT, error TEXT, started REAL NOT NULL, finished REAL,
                        PRIMARY KEY (run, path));
                    CREATE TABLE history (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT, run TEXT NOT NULL, at REAL NOT NULL, event TEXT NOT NULL,
                        path TEXT, detail TEXT NOT NULL);
                    CREATE INDEX history_run ON history(run, sequence);
                    """)
        }
        m.registerMigration("v2") { db in
            // Who fires a trigger that one daemon of those sharing the store should fire.
            try db.execute(
                sql: "CREATE TABLE trigger_lease (key TEXT PRIMARY KEY, owner TEXT NOT NULL, until REAL NOT NULL)")
        }
        m.registerMigration("v3") { db in
            // What a daemon must serve to lease the run (Workflow.needs), one per line; empty: anyone.
            try db.execute(sql: "ALTER TABLE run ADD COLUMN needs TEXT NOT NULL DEFAULT ''")
        }
        return m
    }

    /// A database error as the store's error; a `WorkflowError` thrown inside stays itself.
    static func storing(_ error: any Error) -> WorkflowError {
        error as? WorkflowError ?? .storage("\(error)")
    }

    func write<T>(_ body: (Database) throws -> T) throws(WorkflowError) -> T {
        do { return try queue.write(body) } catch { throw Self.storing(error) }
    }

    /// Commits `body` together with the other step writes waiting at that moment, in one
    /// transaction and so one fsync (group commit): runs ending steps at once no longer each
    /// pay a commit. Returns once the commit is durable. If one write of the group fails,
    /// the group is rolled back and each write is committed alone, so only it fails.
    func grouped(_ body: @escaping (Database) throws -> Void) async throws(WorkflowError) {
        do {
            try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
                pending.append((body, done))
                if pending.count == 1 { Task { self.commitPending() } }
            }
        } catch {
            throw Self.storing(error)
        }
    }

    private func commitPending() {
        let batch = pending
        pending = []
        groupCommits += 1
        do {
            try queue.write { db in for item in batch { try item.body(db) } }
            for item in batch { item.done.resume() }
        } catch {
            for item in batch {
                item.done.resume(with: Result { try queue.write { db in try item.body(db) } })
            }
        }
    }

    /// One statement's read, outside a transaction (a statement is its own snapshot): the
    /// per-step reads skip `read`'s BEGIN, read-only switch and COMMIT.
    func readOne<T>(_ body: (Database) throws -> T) throws(WorkflowError) -> T {
        do { return try queue.inDatabase(body) } catch { throw Self.storing(error) }
    }

    func read<T>(_ body: (Database) throws -> T) throws(WorkflowError) -> T {
        do { return try queue.read(body) } catch { throw Self.storing(error) }
    }

    static var now: Double { Date().timeIntervalSince1970 }

    /// Runs one statement of a step's path prepared once per connection (GRDB's statement
    /// cache), not parsed and authorized again on every step.
    nonisolated func execute(_ db: Database, _ sql: String, _ arguments: StatementArguments) throws {
        try db.cachedStatement(sql: sql).execute(arguments: arguments)
    }

    nonisolated func history(_ db: Database, run: String, path: String?, event: String, detail: String) throws {
        try self.execute(
            db, "INSERT INTO history(run, at, event, path, detail) VALUES (?, ?, ?, ?, ?)",
            [run, Self.now, event, path, try sealer.seal(detail)])
    }

    // MARK: workflows

    public func save(_ workflow: Workflow, owner: Principal, webhookSecret: String?) throws(WorkflowError) {
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO workflow(name, version, owner, groups, definition, webhook_secret, added) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(name) DO UPDATE SET version = excluded.version, owner = excluded.owner, groups = excluded.groups,
                        definition = excluded.definition, webhook_secret = COALESCE(workflow.webhook_secret, excluded.webhook_secret),
                        added = excluded.added
                    """,
                arguments: [
                    workflow.name, workflow.version, owner.name, owner.groups.sorted().joined(separator: ","),
                    try sealer.seal(workflow.source.jsonText),
                    try sealer.seal(webhookSecret), Self.now,
                ])
        }
    }

    func stored(_ row: Row) throws -> StoredWorkflow {
        let text = try sealer.unseal(row["definition"] as String)
        let groups: String = row["groups"]
        return StoredWorkflow(
            workflow: try Workflow(parsing: text),
            owner: Principal(name: row["owner"], groups: Set(groups.split(separator: ",").map(String.init))),
            added: Date(timeIntervalSince1970: row["added"]), webhookSecret: try sealer.unseal(row["webhook_secret"] as String?))
    }

    public func workflow(named name: String) throws(WorkflowError) -> StoredWorkflow? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM workflow WHERE name = ?", arguments: [name]).map(self.stored) }
    }

    public func workflows() throws(WorkflowError) -> [StoredWorkflow] {
        try read { db in try Row.fetchAll(db, sql: "SELECT * FROM workflow ORDER BY name").map(self.stored) }
    }

    public func removeWorkflow(named name: String) throws(WorkflowError) -> Bool {
        try write { db in
            try db.execute(sql: "DELETE FROM workflow WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }

    // MARK: runs

    func run(_ row: Row) throws -> WorkflowRun {
        let groups: String = row["groups"]
        let inputs = try sealer.unseal(row["inputs"] as String)
        let output = try sealer.unseal(row["output"] as String?)
        return WorkflowRun(
            id: row["id"], workflow: row["workflow"], version: row["version"],
            owner: Principal(name: row["owner"], groups: Set(groups.split(separator: ",").map(String.init))),
            status: RunStatus(rawValue: row["status"]) ?? .failed,
            inputs: LabeledValue(try JSONValue(parsing: inputs), label: ProvenanceLabel(storedText: row["inputs_label"])),
            output: try output.map {
                LabeledValue(try JSONValue(parsing: $0), label: ProvenanceLabel(storedText: row["output_label"] ?? ""))
            },
            error: try sealer.unseal(row["error"] as String?), trigger: row["trigger"], parent: row["parent"],
            created: Date(timeIntervalSince1970: row["created"]),
            updated: Date(timeIntervalSince1970: row["updated"]), cancelRequested: (row["cancel_requested"] as Int) != 0)
    }

    public func createRun(
        id: String, of stored: StoredWorkflow, owner: Principal, inputs: LabeledValue, trigger: String, parent: String?
    ) throws(WorkflowError) -> WorkflowRun {
        try write { db in
            try self.insertRun(db, id: id, of: stored, owner: owner, inputs: inputs, trigger: trigger, parent: parent)
        }
    }

    /// Inserts a pending run unless one with `id` exists; returns the run either way.
    func insertRun(
        _ db: Database, id: String, of stored: StoredWorkflow, owner: Principal, inputs: LabeledValue, trigger: String, parent: String?
    ) throws -> WorkflowRun {
        if let existing = try Row.fetchOne(db, sql: "SELECT * FROM run WHERE id = ?", arguments: [id]) { return try self.run(existing) }
        let now = Self.now
        try db.execute(
            sql: """
                INSERT INTO run(id, workflow, version, definition, owner, groups, status, inputs, inputs_label, trigger, parent, created, updated,
                    needs)
                VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                id, stored.workflow.name, stored.workflow.version, try sealer.seal(stored.workflow.source.jsonText), owner.name,
                owner.groups.sorted().joined(separator: ","), try sealer.seal(inputs.value.jsonText), inputs.label.storedText, trigger,
                parent, now, now, stored.workflow.needs.sorted().joined(separator: "\n"),
            ])
        try self.history(db, run: id, path: nil, event: "created", detail: "by \(trigger) as \(owner)")
        return try self.run(try Row.fetchOne(db, sql: "SELECT * FROM run WHERE id = ?", arguments: [id])!)
    }

    public func run(_ id: String) throws(WorkflowError) -> WorkflowRun? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM run WHERE id = ?", arguments: [id]).map(self.run) }
    }

    public func definition(ofRun id: String) throws(WorkflowError) -> Workflow? {
        let text = try read { db in
            try self.sealer.unseal(try String.fetchOne(db, sql: "SELECT definition FROM run WHERE id = ?", arguments: [id]))
        }
        return try text.map { (t) throws(WorkflowError) in try Workflow(parsing: t) }
    }

    public func runs(workflow: String?, limit: Int) throws(WorkflowError) -> [WorkflowRun] {
        try read { db in
            if let workflow {
                return try Row.fetchAll(
                    db, sql: "SELECT * FROM run WHERE workflow = ? ORDER BY created DESC, id LIMIT ?", arguments: [workflow, limit]
                ).map(self.run)
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM run ORDER BY created DESC, id LIMIT ?", arguments: [limit]).map(self.run)
        }
    }

    /// Whether a run with `needs` (as stored, one per line) can be served by `serving`.
    static func serves(_ serving: Set<String>?, _ needs: String) -> Bool {
        guard let serving, !needs.isEmpty else { return true }
        return needs.split(separator: "\n").allSatisfy { serving.contains(String($0)) }
    }

    public func claimableRuns(worker: String, limit: Int, serving: Set<String>?) throws(WorkflowError) -> [String] {
        try read { db in
            // Runs this worker cannot serve are passed over, so ask for more than `limit`.
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, needs FROM run WHERE status IN ('pending', 'running', 'waiting') AND (lease_until < ? OR lease_owner = ?)
                    ORDER BY created LIMIT ?
                    """, arguments: [Self.now, worker, serving == nil ? limit : Int.max])
            return rows.filter { Self.serves(serving, $0["needs"]) }.prefix(limit).map { $0["id"] }
        }
    }

    public func claim(_ id: String, worker: String, leaseSeconds: Double, serving: Set<String>?) throws(WorkflowError) -> Bool {
        try write { db in
            guard Self.serves(serving, try String.fetchOne(db, sql: "SELECT needs FROM run WHERE id = ?", arguments: [id]) ?? "") else {
                return false
            }
            let now = Self.now
            try db.execute(
                sql: """
                    UPDATE run SET lease_owner = ?, lease_until = ? WHERE id = ? AND status IN ('pending', 'running', 'waiting')
                    AND (lease_until < ? OR lease_owner = ?)
                    """, arguments: [worker, now + leaseSeconds, id, now, worker])
            return db.changesCount > 0
        }
    }

    public func renew(_ ids: [String], worker: String, leaseSeconds: Double) throws(WorkflowError) -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return try write { db in
            let now = Self.now
            var held: Set<String> = []
            for id in ids {
                try db.execute(
                    sql: """
                        UPDATE run SET lease_owner = ?, lease_until = ? WHERE id = ? AND status IN ('pending', 'running', 'waiting')
                        AND (lease_until < ? OR lease_owner = ?)
                        """, arguments: [worker, now + leaseSeconds, id, now, worker])
                if db.changesCount > 0 { held.insert(id) }
            }
            return held
        }
    }

    public func claimTrigger(_ key: String, worker: String, leaseSeconds: Double) throws(WorkflowError) -> Bool {
        try write { db in
            let now = Self.now
            try db.execute(
                sql: """
                    INSERT INTO trigger_lease(key, owner, until) VALUES (?, ?, ?)
                    ON CONFLICT(key) DO UPDATE SET owner = excluded.owner, until = excluded.until
                    WHERE trigger_lease.owner = excluded.owner OR trigger_lease.until < ?
                    """, arguments: [key, worker, now + leaseSeconds, now])
            return db.changesCount > 0
        }
    }

    public func release(_ id: String, worker: String) throws(WorkflowError) {
        try write { db in
            try db.execute(sql: "UPDATE run SET lease_until = 0 WHERE id = ? AND lease_owner = ?", arguments: [id, worker])
        }
    }

    public func finish(_ id: String, status: RunStatus, output: LabeledValue?, error: String?, followers: [PendingRun])
        throws(WorkflowError)
    {
        try write { db in
            for f in followers {
                _ = try self.insertRun(db, id: f.id, of: f.workflow, owner: f.owner, inputs: f.inputs, trigger: f.trigger, parent: nil)
            }
            try db.execute(
                sql: "UPDATE run SET status = ?, output = ?, output_label = ?, error = ?, updated = ?, lease_until = 0 WHERE id = ?",
                arguments: [
                    status.rawValue, try sealer.seal(output?.value.jsonText), output?.label.storedText, try sealer.seal(error), Self.now,
                    id,
                ])
            try self.history(db, run: id, path: nil, event: status.rawValue, detail: error ?? "")
        }
    }

    public func setStatus(_ id: String, _ status: RunStatus, detail: String) throws(WorkflowError) {
        try write { db in
            let old = try String.fetchOne(db, sql: "SELECT status FROM run WHERE id = ?", arguments: [id])
            guard old != status.rawValue else { return }
            try db.execute(sql: "UPDATE run SET status = ?, updated = ? WHERE id = ?", arguments: [status.rawValue, Self.now, id])
            try self.history(db, run: id, path: nil, event: status.rawValue, detail: detail)
        }
    }

    public func requestCancel(_ id: String) throws(WorkflowError) -> Bool {
        try write { db in
            try db.execute(
                sql: "UPDATE run SET cancel_requested = 1 WHERE id = ? AND status IN ('pending', 'running', 'waiting')", arguments: [id])
            guard db.changesCount > 0 else { return false }
            try self.history(db, run: id, path: nil, event: "cancel-requested", detail: "")
            return true
        }
    }

    public func cancelRequested(_ id: String) throws(WorkflowError) -> Bool {
        try readOne { db in try Int.fetchOne(db.cachedStatement(sql: "SELECT cancel_requested FROM run WHERE id = ?"), arguments: [id]) == 1 }
    }

    // MARK: steps

    func step(_ row: Row) throws -> StepRecord {
        let output = try sealer.unseal(row["output"] as String?)
        let finished: Double? = row["finished"]
        return StepRecord(
            run: row["run"], path: row["path"], attempt: row["attempt"], status: StepRecord.Status(rawValue: row["status"]) ?? .failed,
            key: row["key"],
            output: try output.map {
                LabeledValue(try JSONValue(parsing: $0), label: ProvenanceLabel(storedText: row["output_label"] ?? ""))
            },
            error: try sealer.unseal(row["error"] as String?), started: Date(timeIntervalSince1970: row["started"]),
            finished: finished.map(Date.init(timeIntervalSince1970:)))
    }

    public func step(run: String, path: String) throws(WorkflowError) -> StepRecord? {
        try readOne { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM step WHERE run = ? AND path = ?"), arguments: [run, path]).map(self.step)
        }
    }

    public func stepBeforeRunning(run: String, path: String) throws(WorkflowError) -> (step: StepRecord?, cancelRequested: Bool) {
        try readOne { db in
            let query = try db.cachedStatement(
                sql: "SELECT r.cancel_requested, s.* FROM run r LEFT JOIN step s ON s.run = r.id AND s.path = ? WHERE r.id = ?")
            guard let row = try Row.fetchOne(query, arguments: [path, run]) else { return (nil, false) }
            return (row["path"] == nil ? nil : try self.step(row), (row["cancel_requested"] as Int) != 0)
        }
    }

    public func steps(run: String) throws(WorkflowError) -> [StepRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM step WHERE run = ? ORDER BY started, path", arguments: [run]).map(self.step)
        }
    }

    public func stepStarted(run: String, path: String, key: String, attempt: Int) async throws(WorkflowError) {
        try await grouped { db in
            try self.execute(
                db,
                """
                INSERT INTO step(run, path, attempt, status, key, started) VALUES (?, ?, ?, 'started', ?, ?)
                ON CONFLICT(run, path) DO UPDATE SET attempt = excluded.attempt, status = 'started', error = NULL
                """, [run, path, attempt, key, Self.now])
            try self.execute(db, "UPDATE run SET status = 'running', updated = ? WHERE id = ? AND status = 'pending'", [Self.now, run])
            try self.history(db, run: run, path: path, event: "step-started", detail: "attempt \(attempt), key \(key)")
        }
    }

    public func stepCompleted(run: String, path: String, output: LabeledValue) async throws(WorkflowError) {
        try await grouped { db in
            try self.execute(
                db, "UPDATE step SET status = 'completed', output = ?, output_label = ?, finished = ? WHERE run = ? AND path = ?",
                [try self.sealer.seal(output.value.jsonText), output.label.storedText, Self.now, run, path])
            try self.history(db, run: run, path: path, event: "step-completed", detail: "label \(output.label)")
        }
    }

    public func stepFailed(run: String, path: String, error: String, final: Bool) async throws(WorkflowError) {
        try await grouped { db in
            try self.execute(
                db, "UPDATE step SET status = ?, error = ?, finished = ? WHERE run = ? AND path = ?",
                [final ? "failed" : "started", try self.sealer.seal(error), Self.now, run, path])
            try self.history(db, run: run, path: path, event: final ? "step-failed" : "step-retrying", detail: error)
        }
    }

    public func history(run: String) throws(WorkflowError) -> [HistoryEvent] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM history WHERE run = ? ORDER BY sequence", arguments: [run]).map { row in
                HistoryEvent(
                    sequence: row["sequence"], run: row["run"], at: Date(timeIntervalSince1970: row["at"]), event: row["event"],
                    path: row["path"], detail: try self.sealer.unseal(row["detail"] as String))
            }
        }
    }

    public func note(run: String, path: String?, event: String, detail: String) async throws(WorkflowError) {
        try await grouped { db in try self.history(db, run: run, path: path, event: event, detail: detail) }
    }

    public func queueDepth() throws(WorkflowError) -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM run WHERE status IN ('pending', 'running')") ?? 0 }
    }

    /// A bare durable insert into the same database, prepared once as a step's statements
    /// are: the benchmark's anchor.
    public func bareInsert(_ text: String) throws(WorkflowError) {
        if !anchorReady {
            try write { db in try db.execute(sql: "CREATE TABLE IF NOT EXISTS bench_anchor (id INTEGER PRIMARY KEY, body TEXT)") }
            anchorReady = true
        }
        try write { db in try self.execute(db, "INSERT INTO bench_anchor(body) VALUES (?)", [text]) }
    }
}
