import AnimaCore
import AnimaStorage
import Foundation
import Testing

/// The behaviour both backends must share; every test runs on SQLite and on PostgreSQL.
@Suite(.timeLimit(.minutes(3))) struct StorageSuiteTests {
    let alice: MemoryNamespace
    let aliceOther: MemoryNamespace
    let bob: MemoryNamespace

    init() throws {
        alice = try MemoryNamespace(user: "alice", agent: "assistant")
        aliceOther = try MemoryNamespace(user: "alice", agent: "coder")
        bob = try MemoryNamespace(user: "bob", agent: "assistant")
    }

    @Test(arguments: Backend.allCases)
    func messagesComeBackAsWrittenInTimeOrder(_ backend: Backend) async throws {
        let f = try await StorageFixture.open(backend)
        defer { f.discard() }
        let recall = f.store.recall(alice)
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        let call = ToolCall(id: "c1", name: "calculator", arguments: ["expression": "2+2"])
        let written = try await recall.append([
            NewRecallEntry(message: .user("What is two plus two?"), createdAt: t0),
            NewRecallEntry(message: .assistant("", toolCalls: [call]), createdAt: t0.addingTimeInterval(1)),
            NewRecallEntry(message: .tool("4", callID: "c1"), createdAt: t0.addingTimeInterval(2)),
            NewRecallEntry(message: .assistant("Four."), createdAt: t0.addingTimeInterval(3)),
        ])
        #expect(written.map(\.id) == written.map(\.id).sorted())
        let listed = try await recall.list()
        #expect(listed == written)
        #expect(listed[1].message.toolCalls == [call])
        #expect(listed[2].message.toolCallID == "c1")
        let late = try await recall.list(MemoryQuery(after: t0.addingTimeInterval(2)))
        #expect(late.map(\.message.content) == ["4", "Four."])
        #expect(try await recall.count(MemoryQuery(before: t0.addingTimeInterval(1))) == 1)
        #expect(try await recall.entries([written[3].id, written[0].id]).map(\.message.content) == ["Four.", "What is two plus two?"])
    }

    @Test(arguments: Backend.allCases)
    func fullTextSearchRanksMatchesAndPaginates(_ backend: Backend) async throws {
        let f = try await StorageFixture.open(backend)
        defer { f.discard() }
        let recall = f.store.recall(alice)
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        var entries: [NewRecallEntry] = []
        for i in 0..<30 {
            entries.append(
                NewRecallEntry(message: .user("Filler message number \(i) about the weather."), createdAt: t0.addingTimeInterval(Double(i)))
            )
        }
        entries.append(NewRecallEntry(message: .user("My sister's wedding is in Porto next June."), createdAt: t0.addingTimeInterval(100)))
        entries.append(
            NewRecallEntry(message: .user("We booked flights to Porto for the wedding weekend."), createdAt: t0.addingTimeInterval(200)))
        try await recall.append(entries)

        let page = try await recall.search(MemoryQuery(text: "Porto wedding", limit: 1))
        #expect(page.hits.count == 1)
        #expect(page.hasMore)
        #expect(page.hits[0].item.message.content.contains("Porto"))
        #expect(page.hits[0].textRank == 1)
        let next = try await recall.search(MemoryQuery(text: "Porto wedding", limit: 1, offset: 1))
        #expect(next.hits.count == 1)
        #expect(!next.hasMore)
        #expect(Set([page.hits[0].item.id, next.hits[0].item.id]).count == 2)

        // Plurals and case fold: "WEDDINGS" finds "wedding".
        #expect(try await recall.search(MemoryQuery(text: "WEDDINGS")).hits.count == 2)
        // The date range leaves out the earlier one.
        let later = try await recall.search(MemoryQuery(text: "Porto", after: t0.addingTimeInterval(150)))
        #expect(later.hits.map(\.item.message.content) == ["We booked flights to Porto for the wedding weekend."])
        #expect(try await recall.search(MemoryQuery(text: "Lisbon")).hits.isEmpty)
        // Exclusions (what is already in the context window) are honoured.
        let excluded = try await recall.search(MemoryQuery(text: "Porto", excluding: Set(later.hits.map(\.item.id))))
        #expect(excluded.hits.count == 1)
    }

    /// Full-text search ranks the records of a query's rarest words, so that a word in
    /// nearly every record costs nothing; a query of common words alone still finds them.
    @Test(arguments: Backend.allCases)
    func aRareWordFindsItsRecordAmongThousandsOfCommonOnes(_ backend: Backend) async throws {
        let f = try await StorageFixture.open(backend)
        defer { f.discard() }
        let recall = f.store.recall(alice)
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        var entries = (0..<2100).map { i in
            NewRecallEntry(message: .user("The weather today is fine, note \(i)."), createdAt: t0.addingTimeInterval(Double(i)))
        }
        entries.insert(NewRecallEntry(message: .user("The weather in Zanzibar is fine."), createdAt: t0), at: 700)
        try await recall.append(entries)
        let rare = try await recall.search(MemoryQuery(text: "is the weather fine in Zanzibar today", limit: 3))
        #expect(rare.hits.first?.item.message.content == "The weather in Zanzibar is fine.")
        #expect(try await recall.search(MemoryQuery(text: "the weather today", limit: 5)).hits.count == 5)
        // With a common-term limit (automatic page-in), common words are not searched at
        // all, while a rare one still is.
        let selective = MemoryQuery(text: "the weather today", limit: 5, commonTermLimit: 100)
        #expect(try await recall.search(selective).hits.isEmpty)
        let rareOnly = try await recall.search(MemoryQuery(text: "is the weather fine in Zanzibar today", limit: 3, commonTermLimit: 100))
        #expect(rareOnly.hits.map(\.item.message.content) == ["The weather in Zanzibar is fine."])
        #expect(try await recall.search(MemoryQuery(text: "weather", limit: 3, commonTermLimit: 3000)).hits.count == 3)
        await #expect(throws: StorageError.self) { try await recall.search(MemoryQuery(text: "weather", commonTermLimit: 0)) }
    }

    @Test(arguments: Backend.allCases)
    func vectorSearchFindsNearestAndFusesWithText(_ backend: Backend) async throws {
        let f = try await StorageFixture.open(backend)
        defer { f.discard() }
        let archival = f.store.archival(alice)
        var passages: [NewArchivalPassage] = []
        for axis in 0..<StorageFixture.dimensions {
            passages.append(NewArchivalPassage(text: "passage along axis \(axis)", embedding: unitVector(axis: axis)))
        }
        passages.append(NewArchivalPassage(text: "the blue notebook is in the attic", embedding: unitVector(axis: 3, tilt: 0.2)))
        let stored = try await archival.insert(passages)

        let nearest = try await archival.search(MemoryQuery(embedding: unitVector(axis: 3, tilt: 0.1), limit: 2))
        #expect(Set(nearest.hits.map(\.item.text)) == ["passage along axis 3", "the blue notebook is in the attic"])
        #expect(nearest.hits.allSatisfy { ($0.similarity ?? 0) > 0.9 })

        // Text and vector agree on the notebook; fusion puts it first.
        let fused = try await archival.search(MemoryQuery(text: "notebook", embedding: unitVector(axis: 3, tilt: 0.1), limit: 3))
        #expect(fused.hits.first?.item.id == stored.last?.id)
        #expect(fused.hits.first?.textRank == 1)
        #expect(fused.hits.first?.vectorRank != nil)
    }

    @Test(arguments: Backend.allCases)
    func archivalTagsFilterBothSearchPaths(_ backend: Backend) async throws {
        let f = try await StorageFixture.open(backend)
        defer { f.discard() }
        let archival = f.store.archival(alice)
        try await archival.insert([
            NewArchivalPassage(text: "Allergic to penicillin", tags: ["health"], embedding: unitVector(axis: 1)),
            NewArchivalPassage(text: "Penicillin was discovered in 1928", tags: ["history"], embedding: unitVector(axis: 1, tilt: 0.1)),
            NewArchivalPassage(text: "Takes ibuprofen for headaches", tags: ["health", "routine"], embedding: unitVector(axis: 2)),
        ])
        let health = try await archival.search(MemoryQuery(text: "penicillin", tags: ["Health"]))
        #expect(health.hits.map(\.item.text) == ["Allergic to penicillin"])
        let byVector = try await archival.search(MemoryQuery(embedding: unitVector(axis: 1), tags: ["history"]))
        #expect(byVector.hits.map(\.item.text) == ["Penicillin was discovered in 1928"])
        let both = try await archival.search(MemoryQuery(tags: ["health", "routine"]))
        #expect(both.hits.map(\.item.text) == ["Takes ibuprofen for headaches"])
        #expect(both.hits[0].item.tags == ["health", "routine"])
        #expect(try await archival.count(MemoryQuery(tags: ["health"])) == 2)
    }

    @Test(arguments: Backend.allCases)
    func namespacesCannotSeeOrTouchEachOther(_ backend: Backend) async throws {
        let f = try await StorageFixture.open(backend)
        defer { f.discard() }
        let mine = try await f.store.archival(alice).insert("The safe code is 4711", embedding: unitVector(axis: 5))
        let message = try await f.store.recall(alice).append(.user("The safe code is 4711"), embedding: unitVector(axis: 5))
        for other in [aliceOther, bob] {
            #expect(try await f.store.archival(other).search(MemoryQuery(text: "safe code 4711")).hits.isEmpty)
            #expect(try await f.store.archival(other).search(MemoryQuery(embedding: unitVector(axis: 5))).hits.isEmpty)
            #expect(try await f.store.recall(other).search(MemoryQuery(text: "safe code")).hits.isEmpty)
            #expect(try await f.store.archival(other).passages([mine.id]).isEmpty)
            #expect(try await f.store.recall(other).entries([message.id]).isEmpty)
            #expect(try await f.store.archival(other).erase([mine.id]) == 0)
            #expect(try await f.store.recall(other).erase([message.id]) == 0)
        }
        #expect(try await f.store.archival(alice).passages([mine.id]).count == 1)
        #expect(try await f.store.recall(alice).entries([message.id]).count == 1)
        #expect(try await f.store.namespaces(user: "alice") == [alice])
    }

    @Test(arguments: Backend.allCases)
    func erasureRemovesTextAndVectorsFromRecallAndArchival(_ backend: Backend) async throws {
        var f = try await StorageFixture.open(backend)
        defer { f.discard() }
        let secret = "Quinoa-Zephyr-8812 is the vault passphrase"
        let archival = f.store.archival(alice)
        let recall = f.store.recall(alice)
        let keep = try await archival.insert("Harmless note about gardening", embedding: unitVector(axis: 0))
        let passage = try await archival.insert(secret, tags: ["secret"], embedding: unitVector(axis: 6))
        let message = try await recall.append(.user(secret), embedding: unitVector(axis: 6))
        #expect(try await archival.search(MemoryQuery(embedding: unitVector(axis: 6), limit: 1)).hits.first?.item.id == passage.id)

        #expect(try await archival.erase([passage.id]) == 1)
        #expect(try await recall.erase([message.id]) == 1)
        #expect(try await archival.erase([passage.id]) == 0)

        for round in 0..<2 {
            let archival = f.store.archival(alice), recall = f.store.recall(alice)
            #expect(try await archival.passages([passage.id]).isEmpty, "round \(round)")
            #expect(try await recall.entries([message.id]).isEmpty)
            #expect(try await archival.search(MemoryQuery(text: "vault passphrase")).hits.isEmpty)
            #expect(try await recall.search(MemoryQuery(text: "vault passphrase")).hits.isEmpty)
            // The exact vector finds only what is left.
            let near = try await archival.search(MemoryQuery(embedding: unitVector(axis: 6), limit: 5))
            #expect(near.hits.map(\.item.id) == [keep.id])
            #expect(try await recall.search(MemoryQuery(embedding: unitVector(axis: 6))).hits.isEmpty)
            #expect(try await archival.count(MemoryQuery(tags: ["secret"])) == 0)
            try await f.reopen()
        }
    }

    @Test(arguments: Backend.allCases)
    func encryptionLeavesNoPlaintextInTheDataFiles(_ backend: Backend) async throws {
        var f = try await StorageFixture.open(backend)
        defer { f.discard() }
        let sentence = "Marmalade Octopus Reunion happens at Grindelwald station"
        let raw: [Float] = [0.3141, -0.2718, 0.1618, 0.5772, -0.4669, 0.2502, 0.3303, -0.2207]
        let norm = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let irregular = raw.map { $0 / norm }
        try await f.store.recall(alice).append(.user(sentence), embedding: irregular)
        try await f.store.archival(alice).insert(sentence, tags: ["grindelwald"], embedding: irregular)
        try await f.store.coreMemory(alice).setValue(["human": sentence], for: "blocks")
        // Still findable by every route...
        #expect(try await f.store.recall(alice).search(MemoryQuery(text: "grindelwald octopus")).hits.count == 1)
        #expect(try await f.store.archival(alice).search(MemoryQuery(tags: ["grindelwald"])).hits.count == 1)
        try await f.reopen()
        try await f.flush()
        // ...yet neither the sentence nor any of its words is in any file.
        for needle in [sentence, "Marmalade", "marmalade", "octopus", "Grindelwald", "grindelwald"] {
            #expect(try f.filesContaining(needle).isEmpty, "\"\(needle)\" found in plaintext")
        }
        // And the vector is not there either: its exact float bytes appear nowhere.
        #expect(try f.filesContaining(bytes: irregular.withUnsafeBufferPointer { Data(buffer: $0) }).isEmpty)
    }

    @Test(arguments: Backend.allCases)
    func aStoreRefusesTheWrongKey(_ backend: Backend) async throws {
        let f = try await StorageFixture.open(backend)
        defer { f.discard() }
        try await f.store.recall(alice).append(.user("hello"))
        // Closed first: while it is open, a second opener is refused before any key is read.
        try await f.store.close()
        await #expect(throws: StorageError.self) {
            _ = try await MemoryStore.open(f.location, key: .generate(), dimensions: StorageFixture.dimensions)
        }
        // A refused open lets go of the store: the next one gets as far as the width check.
        await #expect(throws: StorageError.dimensionMismatch(expected: StorageFixture.dimensions, got: 16)) {
            _ = try await MemoryStore.open(f.location, key: f.key, dimensions: 16)
        }
    }

    @Test(arguments: Backend.allCases)
    func coreMemoryBlocksPersistPerNamespace(_ backend: Backend) async throws {
        var f = try await StorageFixture.open(backend)
        defer { f.discard() }
        try await f.store.coreMemory(alice).setValue(["persona": "terse"], for: "blocks")
        try await f.store.coreMemory(alice).setValue("summary one", for: "summary")
        try await f.store.coreMemory(alice).setValue("summary two", for: "summary")
        try await f.reopen()
        #expect(try await f.store.coreMemory(alice).value("summary", as: String.self) == "summary two")
        #expect(try await f.store.coreMemory(alice).value("blocks", as: [String: String].self) == ["persona": "terse"])
        #expect(try await f.store.coreMemory(bob).value("summary", as: String.self) == nil)
        #expect(try await f.store.coreMemory(alice).names() == ["blocks", "summary"])
        try await f.store.coreMemory(alice).removeValue("summary")
        #expect(try await f.store.coreMemory(alice).names() == ["blocks"])
    }

    @Test(arguments: Backend.allCases)
    func vectorsSurviveReopeningAndErasingANamespace(_ backend: Backend) async throws {
        var f = try await StorageFixture.open(backend)
        defer { f.discard() }
        let archival = f.store.archival(alice)
        var passages: [NewArchivalPassage] = []
        for i in 0..<200 {
            passages.append(NewArchivalPassage(text: "note \(i)", embedding: unitVector(axis: i % 8, tilt: Float(i) / 200)))
        }
        try await archival.insert(passages)
        try await f.store.archival(bob).insert("bob's note", embedding: unitVector(axis: 1))
        try await f.reopen()
        let hits = try await f.store.archival(alice).search(MemoryQuery(embedding: unitVector(axis: 4, tilt: 0.5), limit: 3))
        #expect(hits.hits.count == 3)
        #expect(hits.hits.allSatisfy { $0.item.text.hasPrefix("note ") })
        try await f.store.erase(alice)
        #expect(try await f.store.archival(alice).count() == 0)
        #expect(try await f.store.archival(alice).search(MemoryQuery(embedding: unitVector(axis: 4))).hits.isEmpty)
        #expect(try await f.store.archival(bob).count() == 1)
        try await f.store.erase(user: "bob")
        #expect(try await f.store.namespaces(user: "bob").isEmpty)
    }

    @Test func vectorSnapshotsArePrivateAndReplacedWhole() async throws {
        var f = try await StorageFixture.open(.sqlite)
        defer { f.discard() }
        try await f.store.archival(alice).insert("a note", embedding: unitVector(axis: 2))
        try await f.reopen()  // closing saves the snapshot
        try await f.store.archival(alice).insert("another", embedding: unitVector(axis: 3))
        try await f.reopen()  // and replaces it
        let vectors = f.dataDirectory.appendingPathComponent("vectors").path
        let names = try FileManager.default.contentsOfDirectory(atPath: vectors)
        #expect(!names.isEmpty)
        #expect(names.allSatisfy { !$0.hasSuffix(".tmp") })
        for name in names {
            let mode = try FileManager.default.attributesOfItem(atPath: vectors + "/" + name)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(name)")
        }
    }

    @Test(arguments: Backend.allCases)
    func badInputIsRefusedWithAClearError(_ backend: Backend) async throws {
        let f = try await StorageFixture.open(backend)
        defer { f.discard() }
        let archival = f.store.archival(alice)
        await #expect(throws: StorageError.dimensionMismatch(expected: StorageFixture.dimensions, got: 3)) {
            try await archival.insert("x", embedding: [1, 0, 0])
        }
        await #expect(throws: StorageError.self) { try await archival.insert("   ") }
        await #expect(throws: StorageError.self) { try await archival.search(MemoryQuery(text: "x", limit: 0)) }
        await #expect(throws: StorageError.self) {
            try await archival.search(MemoryQuery(text: "x", after: Date(), before: Date(timeIntervalSinceNow: -10)))
        }
        await #expect(throws: StorageError.self) {
            try await archival.search(MemoryQuery(embedding: [Float](repeating: .nan, count: StorageFixture.dimensions)))
        }
        let error = StorageError.dimensionMismatch(expected: 8, got: 3)
        #expect(error.description.contains("embed with the model the store was created with"))
    }
}
