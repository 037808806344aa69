import AnimaCore
import Foundation
import GRDB

/// Macro tasks and their subtasks on this machine: `tasks.sqlite` in the data directory,
/// owner-only, written by one actor (the orchestrator's process writes through it).
public actor TaskStore {
    let queue: DatabaseQueue
    public nonisolated let path: String

    public init(directory: URL) throws(TaskError) {
        (queue, path) = try TaskDatabase.open(
            "tasks.sqlite", in: directory,
            schema: """
                        CREATE TABLE task (
                            id TEXT PRIMARY KEY, owner TEXT NOT NULL, goal TEXT NOT NULL, state TEXT NOT NULL, graph TEXT,
                            pid INTEGER, report TEXT, rating INTEGER, created REAL NOT NULL, updated REAL NOT NULL);
                        CREATE INDEX task_owner ON task(owner, created);
                        CREATE TABLE node (
                            task TEXT NOT NULL, id TEXT NOT NULL, role TEXT NOT NULL, state TEXT NOT NULL,
                            attempts INTEGER NOT NULL DEFAULT 0, pid INTEGER, output TEXT, outcome TEXT, error TEXT,
                            rating INTEGER, updated REAL NOT NULL, PRIMARY KEY (task, id));
                """)
    }

    public func create(owner: String, goal: String) throws(TaskError) -> String {
        let id = "t-" + Hex.randomID().prefix(12)
        let now = Date().timeIntervalSince1970
        try write { db in
            try db.execute(
                sql: "INSERT INTO task (id, owner, goal, state, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [id, owner, goal, TaskState.planning.rawValue, now, now])
        }
        return id
    }

    /// Records the (re)planned graph; its subtasks start pending (earlier ones are replaced).
    public func setGraph(_ task: String, _ graph: TaskGraph) throws(TaskError) {
        let now = Date().timeIntervalSince1970
        try write { db in
            try db.execute(
                sql: "UPDATE task SET graph = ?, state = ?, updated = ? WHERE id = ?",
                arguments: [graph.json.jsonText, TaskState.running.rawValue, now, task])
            try db.execute(sql: "DELETE FROM node WHERE task = ?", arguments: [task])
            for node in graph.nodes {
                try db.execute(
                    sql: "INSERT INTO node (task, id, role, state, updated) VALUES (?, ?, ?, ?, ?)",
                    arguments: [task, node.id, node.role.rawValue, TaskState.pending.rawValue, now])
            }
        }
    }

    public func setTask(_ task: String, state: TaskState, pid: Int? = nil, report: String? = nil) throws(TaskError) {
        try write { db in
            try db.execute(
                sql: "UPDATE task SET state = ?, pid = COALESCE(?, pid), report = COALESCE(?, report), updated = ? WHERE id = ?",
                arguments: [state.rawValue, pid, report, Date().timeIntervalSince1970, task])
        }
    }

    public func setNode(
        _ task: String, _ node: String, state: TaskState, attempts: Int? = nil, pid: Int? = nil, output: JSONValue? = nil,
        outcome: JSONValue? = nil, error: String? = nil
    ) throws(TaskError) {
        try write { db in
            try db.execute(
                sql: """
                    UPDATE node SET state = ?, attempts = COALESCE(?, attempts), pid = COALESCE(?, pid),
                    output = COALESCE(?, output), outcome = COALESCE(?, outcome), error = ?, updated = ?
                    WHERE task = ? AND id = ?
                    """,
                arguments: [
                    state.rawValue, attempts, pid, output?.jsonText, outcome?.jsonText, error, Date().timeIntervalSince1970, task, node,
                ])
        }
    }

    /// Records the user's verdict on a task (and on each of its subtasks, in their outcomes).
    public func rate(_ task: String, owner: String, up: Bool) throws(TaskError) {
        let changed = try write { db in
            try db.execute(
                sql: "UPDATE task SET rating = ?, updated = ? WHERE id = ? AND owner = ?",
                arguments: [up ? 1 : -1, Date().timeIntervalSince1970, task, owner])
            let changed = db.changesCount
            if changed > 0 { try db.execute(sql: "UPDATE node SET rating = ? WHERE task = ?", arguments: [up ? 1 : -1, task]) }
            return changed
        }
        guard changed > 0 else { throw .notFound("task \(task)") }
    }

    /// The owner's tasks, newest first (root sees everyone's).
    public func list(owner: String, limit: Int = 50) throws(TaskError) -> [TaskRecord] {
        try read { db in
            let rows =
                owner == "root"
                ? try Row.fetchAll(db, sql: "SELECT * FROM task ORDER BY created DESC LIMIT ?", arguments: [limit])
                : try Row.fetchAll(db, sql: "SELECT * FROM task WHERE owner = ? ORDER BY created DESC LIMIT ?", arguments: [owner, limit])
            return rows.map { Self.task($0, nodes: []) }
        }
    }

    public func task(_ id: String, owner: String) throws(TaskError) -> TaskRecord {
        let found = try read { db -> TaskRecord? in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM task WHERE id = ?", arguments: [id]) else { return nil }
            let nodes = try Row.fetchAll(db, sql: "SELECT * FROM node WHERE task = ? ORDER BY rowid", arguments: [id]).map(Self.node)
            return Self.task(row, nodes: nodes)
        }
        guard let found, owner == "root" || found.owner == owner else { throw .notFound("task \(id)") }
        return found
    }

    static func task(_ row: Row, nodes: [NodeRecord]) -> TaskRecord {
        let graphText: String? = row["graph"]
        let graph = graphText.flatMap { try? JSONValue(parsing: $0) }.flatMap { try? TaskGraph(json: $0, goal: row["goal"]) }
        return TaskRecord(
            id: row["id"], owner: row["owner"], goal: row["goal"], state: TaskState(rawValue: row["state"]) ?? .failed, graph: graph,
            nodes: nodes, pid: row["pid"], report: row["report"], rating: row["rating"],
            created: Date(timeIntervalSince1970: row["created"]), updated: Date(timeIntervalSince1970: row["updated"]))
    }

    static func node(_ row: Row) -> NodeRecord {
        let json = { (key: String) -> JSONValue? in (row[key] as String?).flatMap { try? JSONValue(parsing: $0) } }
        return NodeRecord(
            task: row["task"], id: row["id"], role: Specialist(rawValue: row["role"]) ?? .writer,
            state: TaskState(rawValue: row["state"]) ?? .failed, attempts: row["attempts"], pid: row["pid"], output: json("output"),
            outcome: json("outcome"), error: row["error"], rating: row["rating"], updated: Date(timeIntervalSince1970: row["updated"]))
    }

    func write<T>(_ body: (Database) throws -> T) throws(TaskError) -> T {
        do { return try queue.write(body) } catch { throw .storage("\(error)") }
    }

    func read<T>(_ body: (Database) throws -> T) throws(TaskError) -> T {
        do { return try queue.read(body) } catch { throw .storage("\(error)") }
    }
}
