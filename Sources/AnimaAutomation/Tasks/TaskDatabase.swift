import AnimaCore
import Foundation
import GRDB

/// Opens one SQLite file of the macro-task layer (tasks, skills) the same way: a private
/// directory and file, full sync, WAL, and the file's one schema migration.
enum TaskDatabase {
    static func open(_ file: String, in directory: URL, schema: String) throws(TaskError) -> (queue: DatabaseQueue, path: String) {
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .storage("could not create \(directory.path): \(DurableFile.reason(of: error))")
        }
        let path = directory.appendingPathComponent(file).path
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        do {
            let existed = FileManager.default.fileExists(atPath: path)
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            if !existed { chmod(path, 0o600) }
            try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1") { db in try db.execute(sql: schema) }
            try migrator.migrate(queue)
            return (queue, path)
        } catch {
            throw .storage("could not open \(path): \(error)")
        }
    }
}
