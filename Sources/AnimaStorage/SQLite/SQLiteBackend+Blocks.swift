import AnimaCore
import Crypto
import Foundation
import GRDB
import Glibc

/// Core-memory blocks: named, sealed values per namespace (the table keeps its first name, `slots`).
extension SQLiteBackend {
    func blocks(_ namespace: MemoryNamespace) throws -> [StoredBlock] {
        try database {
            try pool.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT name, sealed FROM slots WHERE user = ? AND agent = ? ORDER BY name",
                    arguments: [namespace.user, namespace.agent]
                ).map { StoredBlock(name: $0["name"], sealed: $0["sealed"]) }
            }
        }
    }

    func putBlock(_ namespace: MemoryNamespace, _ block: StoredBlock) throws {
        try database {
            try pool.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO slots(user, agent, name, sealed, updated_at) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT(user, agent, name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at
                        """,
                    arguments: [namespace.user, namespace.agent, block.name, block.sealed, Date().timeIntervalSince1970])
            }
        }
    }

    func deleteBlock(_ namespace: MemoryNamespace, name: String) throws {
        try database {
            try pool.write { db in
                try db.execute(
                    sql: "DELETE FROM slots WHERE user = ? AND agent = ? AND name = ?",
                    arguments: [namespace.user, namespace.agent, name])
            }
        }
    }
}
