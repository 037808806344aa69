import AnimaCore
import Crypto
import Foundation
import GRDB
import Glibc

/// Core-memory slots: named, sealed values per namespace.
extension SQLiteBackend {
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
}
