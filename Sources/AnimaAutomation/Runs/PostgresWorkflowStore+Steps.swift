import AnimaCore
import Foundation
import PostgresNIO

/// Steps, history and the queue of the PostgreSQL run store.
extension PostgresWorkflowStore {
    func step(_ row: PostgresRandomAccessRow) throws -> StepRecord {
        let output = try sealer.unseal(try row["output"].decode(String?.self))
        let label = try row["output_label"].decode(String?.self) ?? ""
        return StepRecord(
            run: try row["run"].decode(String.self), path: try row["path"].decode(String.self),
            attempt: Int(try row["attempt"].decode(Int64.self)),
            status: StepRecord.Status(rawValue: try row["status"].decode(String.self)) ?? .failed, key: try row["key"].decode(String.self),
            output: try output.map { LabeledValue(try JSONValue(parsing: $0), label: ProvenanceLabel(storedText: label)) },
            error: try sealer.unseal(try row["error"].decode(String?.self)),
            started: Date(timeIntervalSince1970: try row["started"].decode(Double.self)),
            finished: try row["finished"].decode(Double?.self).map(Date.init(timeIntervalSince1970:)))
    }

    public func step(run: String, path: String) async throws(WorkflowError) -> StepRecord? {
        let rows = try await query("SELECT * FROM anima_wf_step WHERE run = \(run) AND path = \(path)")
        return try decoding { try rows.first.map(step) }
    }

    public func stepBeforeRunning(run: String, path: String) async throws(WorkflowError) -> (step: StepRecord?, cancelRequested: Bool) {
        let rows = try await query(
            """
            SELECT r.cancel_requested, s.* FROM anima_wf_run r LEFT JOIN anima_wf_step s ON s.run = r.id AND s.path = \(path)
            WHERE r.id = \(run)
            """)
        return try decoding {
            guard let row = rows.first else { return (nil, false) }
            let exists = try row["path"].decode(String?.self) != nil
            return (exists ? try step(row) : nil, try row["cancel_requested"].decode(Bool.self))
        }
    }

    public func steps(run: String) async throws(WorkflowError) -> [StepRecord] {
        let rows = try await query("SELECT * FROM anima_wf_step WHERE run = \(run) ORDER BY started, path")
        return try decoding { try rows.map(step) }
    }

    // Each step write is one statement (data-modifying CTEs run to completion, atomically):
    // one round trip and one commit, not BEGIN, three statements and COMMIT.

    public func stepStarted(run: String, path: String, key: String, attempt: Int) async throws(WorkflowError) {
        let detail = try seal("attempt \(attempt), key \(key)")
        _ = try await query(
            """
            WITH s AS (
                INSERT INTO anima_wf_step(run, path, attempt, status, key, started)
                VALUES (\(run), \(path), \(attempt), 'started', \(key), \(unescaped: Self.now))
                ON CONFLICT(run, path) DO UPDATE SET attempt = excluded.attempt, status = 'started', error = NULL RETURNING 1),
            r AS (
                UPDATE anima_wf_run SET status = 'running', updated = \(unescaped: Self.now) WHERE id = \(run) AND status = 'pending'
                RETURNING 1)
            INSERT INTO anima_wf_history(run, at, event, path, detail)
            VALUES (\(run), \(unescaped: Self.now), 'step-started', \(path), \(detail)) RETURNING sequence
            """)
    }

    public func stepCompleted(run: String, path: String, output: LabeledValue) async throws(WorkflowError) {
        let sealed = try seal(output.value.jsonText)
        let detail = try seal("label \(output.label)")
        let label = output.label.storedText
        _ = try await query(
            """
            WITH u AS (
                UPDATE anima_wf_step SET status = 'completed', output = \(sealed), output_label = \(label), finished = \(unescaped: Self.now)
                WHERE run = \(run) AND path = \(path) RETURNING 1)
            INSERT INTO anima_wf_history(run, at, event, path, detail)
            VALUES (\(run), \(unescaped: Self.now), 'step-completed', \(path), \(detail)) RETURNING sequence
            """)
    }

    public func stepFailed(run: String, path: String, error: String, final: Bool) async throws(WorkflowError) {
        let sealed = try seal(error)
        let status = final ? "failed" : "started"
        let event = final ? "step-failed" : "step-retrying"
        _ = try await query(
            """
            WITH u AS (
                UPDATE anima_wf_step SET status = \(status), error = \(sealed), finished = \(unescaped: Self.now)
                WHERE run = \(run) AND path = \(path) RETURNING 1)
            INSERT INTO anima_wf_history(run, at, event, path, detail)
            VALUES (\(run), \(unescaped: Self.now), \(event), \(path), \(sealed)) RETURNING sequence
            """)
    }

    public func history(run: String) async throws(WorkflowError) -> [HistoryEvent] {
        let rows = try await query("SELECT * FROM anima_wf_history WHERE run = \(run) ORDER BY sequence")
        return try decoding {
            try rows.map { row in
                HistoryEvent(
                    sequence: try row["sequence"].decode(Int64.self), run: try row["run"].decode(String.self),
                    at: Date(timeIntervalSince1970: try row["at"].decode(Double.self)), event: try row["event"].decode(String.self),
                    path: try row["path"].decode(String?.self), detail: try sealer.unseal(try row["detail"].decode(String.self)))
            }
        }
    }

    public func note(run: String, path: String?, event: String, detail: String) async throws(WorkflowError) {
        let sealed = try seal(detail)
        _ = try await transaction { c in try await Self.history(c, run: run, path: path, event: event, sealed: sealed) }
    }

    public func queueDepth() async throws(WorkflowError) -> Int {
        let rows = try await query("SELECT count(*) AS n FROM anima_wf_run WHERE status IN ('pending', 'running')")
        return try decoding { Int(try rows.first?["n"].decode(Int64.self) ?? 0) }
    }

    /// A bare durable insert into the same database: the benchmark's anchor.
    public func bareInsert(_ text: String) async throws(WorkflowError) {
        if !anchorReady {
            _ = try await query("CREATE TABLE IF NOT EXISTS anima_wf_bench_anchor(id bigserial PRIMARY KEY, body text)")
            anchorReady = true
        }
        _ = try await query("INSERT INTO anima_wf_bench_anchor(body) VALUES (\(text))")
    }

    /// The engine that holds (or last held) a run's lease.
    public func leaseOwner(of id: String) async throws(WorkflowError) -> String? {
        let rows = try await query("SELECT lease_owner FROM anima_wf_run WHERE id = \(id)")
        return try decoding { try rows.first?["lease_owner"].decode(String?.self) }
    }

    /// Every row of every table as text, for tests that look for values in the clear.
    package func rawText() async throws(WorkflowError) -> String {
        var text = ""
        for table in ["anima_wf_workflow", "anima_wf_run", "anima_wf_step", "anima_wf_history"] {
            let rows = try await query(PostgresQuery(unsafeSQL: "SELECT coalesce(string_agg(t::text, E'\\n'), '') AS x FROM \(table) t"))
            text += try decoding { try rows.first?["x"].decode(String.self) ?? "" } + "\n"
        }
        return text
    }
}
