import AnimaCore
import Foundation
import PostgresNIO

/// Leases renewed in bulk: an engine's heartbeat and the trigger leases of the PostgreSQL store.
extension PostgresWorkflowStore {
    /// One statement for all of a worker's runs, however many it executes at once.
    public func renew(_ ids: [String], worker: String, leaseSeconds: Double) async throws(WorkflowError) -> Set<String> {
        guard !ids.isEmpty else { return [] }
        let rows = try await query(
            """
            UPDATE anima_wf_run SET lease_owner = \(worker), lease_until = \(unescaped: Self.now) + \(leaseSeconds)
            WHERE id = ANY(\(ids)) AND status IN \(unescaped: Self.open)
            AND (lease_until < \(unescaped: Self.now) OR lease_owner = \(worker))
            RETURNING id
            """)
        return Set(try decoding { try rows.map { try $0["id"].decode(String.self) } })
    }

    public func claimTrigger(_ key: String, worker: String, leaseSeconds: Double) async throws(WorkflowError) -> Bool {
        try await !query(
            """
            INSERT INTO anima_wf_trigger_lease(key, owner, until) VALUES (\(key), \(worker), \(unescaped: Self.now) + \(leaseSeconds))
            ON CONFLICT(key) DO UPDATE SET owner = excluded.owner, until = excluded.until
            WHERE anima_wf_trigger_lease.owner = excluded.owner OR anima_wf_trigger_lease.until < \(unescaped: Self.now)
            RETURNING key
            """
        ).isEmpty
    }
}
