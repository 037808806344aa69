import AnimaCore
import Foundation
import GRDB
import Testing

@testable import AnimaStorage

/// When a record happened, who it came from and how far it is trusted: kept on both
/// backends, filtered on, refused when absurd, and given to records of older stores.
@Suite(.timeLimit(.minutes(3))) struct RecordMetadataTests {
    let alice: MemoryNamespace

    init() throws {
        alice = try MemoryNamespace(user: "alice", agent: "assistant")
    }

    @Test(arguments: Backend.allCases)
    func happenedSourceAndTrustComeBackAndFilter(_ backend: Backend) async throws {
        let f = try await StorageFixture.open(backend)
        defer { f.discard() }
        let archival = f.store.archival(alice)
        let stored = Date(timeIntervalSince1970: 1_800_000_000)
        let may2023 = Date(timeIntervalSince1970: 1_683_000_000)
        let june2023 = Date(timeIntervalSince1970: 1_686_000_000)
        let written = try await archival.insert([
            NewArchivalPassage(text: "Moved to Porto", tags: ["Move"], createdAt: stored, happenedAt: may2023, source: .import),
            NewArchivalPassage(text: "Porto has seven hills, I think", createdAt: stored, happenedAt: june2023),
            NewArchivalPassage(text: "Porto weather page says rain", createdAt: stored, source: .tool, trust: .unverified),
        ])
        #expect(written.map(\.source) == [.import, .agent, .tool])
        #expect(written.map(\.trust) == [.trusted, .unverified, .unverified])
        #expect(written[2].happenedAt == stored)
        let read = try await archival.passages(written.map(\.id))
        #expect(read == written)

        // Time filters are on when a record happened, not when it was stored.
        let inMay = try await archival.search(MemoryQuery(text: "Porto", after: may2023, before: june2023))
        #expect(inMay.hits.map(\.item.text) == ["Moved to Porto"])
        let listed = try await archival.search(MemoryQuery(before: stored))
        #expect(listed.hits.map(\.item.text) == ["Porto has seven hills, I think", "Moved to Porto"])
        let fromTools = try await archival.search(MemoryQuery(text: "Porto", sources: [.tool]))
        #expect(fromTools.hits.map(\.item.text) == ["Porto weather page says rain"])
        let trusted = try await archival.search(MemoryQuery(text: "Porto", minimumTrust: .trusted))
        #expect(trusted.hits.map(\.item.text) == ["Moved to Porto"])
        #expect(try await archival.count(MemoryQuery(sources: [.agent, .import])) == 2)

        // Messages: their own time, and a source read from their role.
        let recall = f.store.recall(alice)
        let said = Date(timeIntervalSince1970: 1_690_000_000)
        let messages = try await recall.append([
            NewRecallEntry(message: .user("I live in Porto"), createdAt: said),
            NewRecallEntry(message: .assistant("You live in Lisbon"), createdAt: said.addingTimeInterval(1)),
            NewRecallEntry(message: .tool("Porto: 14C", callID: "c"), createdAt: said.addingTimeInterval(2)),
        ])
        #expect(messages.map(\.source) == [.user, .agent, .tool])
        #expect(messages.map(\.trust) == [.trusted, .unverified, .untrusted])
        #expect(messages.map(\.happenedAt) == messages.map(\.createdAt))
        let users = try await recall.search(MemoryQuery(text: "live", sources: [.user]))
        #expect(users.hits.map(\.item.message.content) == ["I live in Porto"])
    }

    @Test(arguments: Backend.allCases)
    func absurdTimesAreRefusedWithTheirValue(_ backend: Backend) async throws {
        let f = try await StorageFixture.open(backend)
        defer { f.discard() }
        let archival = f.store.archival(alice)
        for seconds in [Double.nan, .infinity, -.infinity, 1e300, -1e300, 253_402_300_800] {
            let date = Date(timeIntervalSince1970: seconds)
            await #expect(throws: StorageError.self) {
                try await archival.insert([NewArchivalPassage(text: "x", happenedAt: date)])
            }
            await #expect(throws: StorageError.self) {
                try await f.store.recall(alice).append([NewRecallEntry(message: .user("x"), createdAt: date)])
            }
            await #expect(throws: StorageError.self) { try await archival.search(MemoryQuery(text: "x", after: date)) }
            await #expect(throws: StorageError.self) { try await archival.search(MemoryQuery(before: date)) }
        }
        do {
            _ = try await archival.insert("x", happenedAt: Date(timeIntervalSince1970: 1e300))
            Issue.record("a date in the year 10^292 was stored")
        } catch let error as StorageError {
            #expect(error.isBadRequest)
            #expect(error.description.contains("between the years 1 and 9999"))
        }
        // Nothing half-written: the refused batches left no record.
        #expect(try await archival.count() == 0)
        // The extremes themselves are fine.
        let edges = try await archival.insert([
            NewArchivalPassage(text: "the first day", happenedAt: MemoryTime.earliest),
            NewArchivalPassage(text: "the last second", happenedAt: MemoryTime.latest),
        ])
        #expect(try await archival.passages(edges.map(\.id)).map(\.happenedAt) == [MemoryTime.earliest, MemoryTime.latest])
    }

    /// A store written before v3 (no happened time, source or trust) opens with its
    /// records dated when they were stored, messages sourced by their role, passages the
    /// agent's, and filters that work on them.
    @Test func aVersionTwoStoreIsMigrated() async throws {
        let key = EncryptionKey.generate()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("anima-migrate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let current = root.appendingPathComponent("current")
        let old = root.appendingPathComponent("old")
        let t0 = Date(timeIntervalSince1970: 1_600_000_000)
        // Sealed records made by today's code, then moved into a database at schema v2.
        do {
            let store = try await MemoryStore.open(.directory(current), key: key, dimensions: 8)
            try await store.recall(alice).append([
                NewRecallEntry(message: .user("I was born in Braga"), createdAt: t0, embedding: unitVector(axis: 1)),
                NewRecallEntry(message: .assistant("Noted: Braga"), createdAt: t0.addingTimeInterval(60)),
            ])
            try await store.archival(alice).insert("Braga is in the north", tags: ["geo"], at: t0.addingTimeInterval(120))
            try await store.close()
        }
        try FileManager.default.createDirectory(at: old, withIntermediateDirectories: true)
        let pool = try DatabasePool(path: old.appendingPathComponent("memory.sqlite").path)
        try SQLiteBackend.migrator.migrate(pool, upTo: "v2")
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS current", arguments: [current.appendingPathComponent("memory.sqlite").path])
            try db.inTransaction {
                try db.execute(
                    sql: """
                        INSERT INTO main.meta SELECT * FROM current.meta;
                        INSERT INTO main.records(id, user, agent, kind, created_at, sealed, terms, sealed_vector)
                            SELECT id, user, agent, kind, created_at, sealed, terms, sealed_vector FROM current.records;
                        INSERT INTO main.record_tags SELECT * FROM current.record_tags;
                        """)
                return .commit
            }
            try db.execute(sql: "DETACH DATABASE current")
        }
        try pool.close()

        let store = try await MemoryStore.open(.directory(old), key: key, dimensions: 8)
        let messages = try await store.recall(alice).list()
        #expect(messages.map(\.happenedAt) == [t0, t0.addingTimeInterval(60)])
        #expect(messages.map(\.source) == [.user, .agent])
        #expect(messages.map(\.trust) == [.trusted, .unverified])
        let passages = try await store.archival(alice).search(MemoryQuery(text: "Braga", after: t0.addingTimeInterval(100)))
        #expect(passages.hits.map(\.item.text) == ["Braga is in the north"])
        #expect(passages.hits.first?.item.source == .agent)
        #expect(passages.hits.first?.item.trust == .unverified)
        #expect(try await store.archival(alice).count(MemoryQuery(sources: [.agent])) == 1)
        // The vector index is rebuilt from the migrated rows.
        let near = try await store.recall(alice).search(MemoryQuery(embedding: unitVector(axis: 1)))
        #expect(near.hits.first?.item.message.content == "I was born in Braga")
        try await store.close()
    }
}
