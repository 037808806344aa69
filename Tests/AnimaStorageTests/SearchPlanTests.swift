import AnimaCore
import Foundation
import Testing

@testable import AnimaStorage

/// The shortcuts the SQLite searches take give the same answers as the plain queries:
/// the full-text index ranked before records are read, a kind with no records, and a
/// filtered vector search that measures the few records passing its filter.
@Suite(.timeLimit(.minutes(3))) struct SearchPlanTests {
    let alice: MemoryNamespace

    init() throws {
        alice = try MemoryNamespace(user: "alice", agent: "assistant")
    }

    @Test func wordsHeldMostlyByTheOtherKindStillFindThisKindsRecords() async throws {
        let f = try await StorageFixture.open(.sqlite)
        defer { f.discard() }
        // Terms are blinded per namespace, so the index ranks the passages first: their
        // short texts repeat the word. The messages must still be found.
        _ = try await f.store.archival(alice).insert(
            (0..<120).map { NewArchivalPassage(text: "Porto Porto Porto \($0)") })
        let said = try await f.store.recall(alice).append(
            (0..<3).map { NewRecallEntry(message: .user("Last summer I visited Porto with friends and family, day \($0)")) })
        let found = try await f.store.recall(alice).search(MemoryQuery(text: "Porto", limit: 10))
        #expect(Set(found.hits.map(\.item.id)) == Set(said.map(\.id)))
        let excluded = try await f.store.recall(alice).search(MemoryQuery(text: "Porto", excluding: [said[0].id], limit: 10))
        #expect(Set(excluded.hits.map(\.item.id)) == Set(said.dropFirst().map(\.id)))
        // The other way round: the passages' order is the index's own.
        let passages = try await f.store.archival(alice).search(MemoryQuery(text: "Porto", limit: 5))
        #expect(passages.hits.count == 5)
        #expect(passages.hits.allSatisfy { $0.item.text.hasPrefix("Porto Porto Porto") })
    }

    @Test func aKindWithoutRecordsFindsNothingByWords() async throws {
        let f = try await StorageFixture.open(.sqlite)
        defer { f.discard() }
        _ = try await f.store.recall(alice).append([NewRecallEntry(message: .user("Porto in May"))])
        #expect(try await f.store.archival(alice).search(MemoryQuery(text: "Porto")).hits.isEmpty)
        #expect(try await f.store.recall(alice).search(MemoryQuery(text: "Porto")).hits.count == 1)
    }

    @Test func aFilterFewRecordsPassIsSearchedExactly() async throws {
        let f = try await StorageFixture.open(.sqlite)
        defer { f.discard() }
        let recall = f.store.recall(alice)
        let january = Date(timeIntervalSince1970: 1_704_067_200)
        let march = Date(timeIntervalSince1970: 1_709_251_200)
        // 3,000 messages in March point along axis 0, the query's direction; seven in
        // January point elsewhere, so the graph's nearest neighbours hold none of them.
        var rng = SplitMix64(seed: 7)
        var entries: [NewRecallEntry] = (0..<3000).map { i in
            NewRecallEntry(
                message: .user("march \(i)"), createdAt: march.addingTimeInterval(Double(i)),
                embedding: unitVector(axis: 0, tilt: Float(rng.next() % 1000) / 1000))
        }
        var januaryVectors: [[Float]] = []
        for i in 0..<7 {
            var v = (0..<StorageFixture.dimensions).map { _ in Float(rng.next() % 2001) / 1000 - 1 }
            v[0] = -1
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            v = v.map { $0 / norm }
            januaryVectors.append(v)
            entries.append(NewRecallEntry(message: .user("january \(i)"), createdAt: january.addingTimeInterval(Double(i)), embedding: v))
        }
        let stored = try await recall.append(entries)
        let query = unitVector(axis: 0)
        var asked = MemoryQuery(embedding: query, after: january, before: march, limit: 5)
        asked.ranking = .reciprocalRank
        let found = try await recall.search(asked)
        let januaryIDs = Array(stored.suffix(7).map(\.id))
        func distance(_ v: [Float]) -> Float {
            var dot: Float = 0
            for i in v.indices { dot += v[i] * query[i] }
            return 1 - dot
        }
        var measured: [(id: Int64, distance: Float)] = []
        for (id, v) in zip(januaryIDs, januaryVectors) { measured.append((id, distance(v))) }
        measured.sort { $0.distance != $1.distance ? $0.distance < $1.distance : $0.id > $1.id }
        #expect(found.hits.map(\.item.id) == measured.prefix(5).map(\.id))
        #expect(found.hits.allSatisfy { $0.item.message.content.hasPrefix("january") })
    }
}
