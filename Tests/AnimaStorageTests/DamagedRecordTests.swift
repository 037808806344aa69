import Foundation
import GRDB
import Testing

@testable import AnimaStorage

/// What one damaged sealed record, or a lost key, costs: only that record, and never a
/// silently replaced key.
@Suite("Damaged sealed records and lost keys")
struct DamagedRecordTests {
    /// A flipped byte in one passage's sealed column: searches still answer, without that
    /// passage, and say one was left out.
    @Test func aFlippedByteCostsOneResultNotTheSearch() async throws {
        var f = try await StorageFixture.open(.sqlite)
        defer { f.discard() }
        let alice = try MemoryNamespace(user: "alice", agent: "notes")
        let archival = await f.store.archival(alice)
        let kept = try await archival.insert("the spare key is under the blue flowerpot")
        let broken = try await archival.insert("the spare key was lent to the neighbour")
        try await f.store.close()

        // Flip one byte in the middle of the passage's sealed column, as a bad disk block would.
        let database = try DatabaseQueue(path: f.dataDirectory.appendingPathComponent("memory.sqlite").path)
        try await database.write { db in
            var sealed = try #require(try Data.fetchOne(db, sql: "SELECT sealed FROM records WHERE id = ?", arguments: [broken.id]))
            sealed[sealed.startIndex + sealed.count / 2] ^= 0x01
            try db.execute(sql: "UPDATE records SET sealed = ? WHERE id = ?", arguments: [sealed, broken.id])
        }
        try database.close()

        try await f.reopen()
        let reopened = await f.store.archival(alice)
        let page = try await reopened.search(MemoryQuery(text: "spare key", limit: 10))
        #expect(page.hits.map(\.item.id) == [kept.id])
        #expect(page.damaged == 1)
        let listed = try await reopened.search(MemoryQuery(limit: 10))
        #expect(listed.hits.map(\.item.id) == [kept.id] && listed.damaged == 1)
    }

    /// A deleted key beside memory sealed with it is refused with advice, not replaced by
    /// a fresh key that could never open that memory.
    @Test func aMissingKeyBesideSealedMemoryIsRefusedNotReplaced() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("anima-key-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("memory")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let keyPath = directory.appendingPathComponent("memory.key").path
        // Empty memory: a first key is made.
        _ = try EncryptionKey.loadOrCreate(at: keyPath, sealedData: data.path)
        #expect(FileManager.default.fileExists(atPath: keyPath))
        try Data("sealed".utf8).write(to: data.appendingPathComponent("memory.sqlite"))
        try FileManager.default.removeItem(atPath: keyPath)
        let error = #expect(throws: StorageError.self) { try EncryptionKey.loadOrCreate(at: keyPath, sealedData: data.path) }
        #expect(error == .missingKey(path: keyPath, data: data.path))
        #expect(error?.description.contains("restore the key file") == true)
        #expect(!FileManager.default.fileExists(atPath: keyPath))
    }
}
