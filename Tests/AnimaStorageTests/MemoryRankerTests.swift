import AnimaCore
import Foundation
import Testing

@testable import AnimaStorage

/// How search orders what it finds (issue 18): the user's word over the agent's guess, the
/// newest statement when asked for the current state, the month a query names, a second
/// retrieval through a name, and fusion's edge cases. SQLite only: the ranking is above
/// the backends, which StorageSuiteTests checks alike.
@Suite(.timeLimit(.minutes(2))) struct MemoryRankerTests {
    let alice = try! MemoryNamespace(user: "alice", agent: "assistant")
    let t0 = Date(timeIntervalSince1970: 1_704_067_200)  // 2024-01-01

    func day(_ n: Double) -> Date { t0.addingTimeInterval(n * 86_400) }

    @Test func theAgentsInventedAnswerDoesNotOutrankTheUsersFact() async throws {
        let f = try await StorageFixture.open(.sqlite)
        defer { f.discard() }
        let recall = f.store.recall(alice)
        let told = try await recall.append(
            .user("My colleague Jonah commutes from Porto every day."), at: day(1), embedding: unitVector(axis: 1, tilt: 0.5))
        // The agent's guess repeats the question's words and sits closer to its meaning.
        let guess = try await recall.append(
            .assistant("Where does your colleague Jonah live? I believe your colleague Jonah lives in Lisbon."), at: day(20),
            embedding: unitVector(axis: 1, tilt: 0.05))
        let query = MemoryQuery(text: "Where does my colleague Jonah live?", embedding: unitVector(axis: 1), limit: 5)
        let page = try await recall.search(query)
        #expect(page.hits.map(\.item.id) == [told.id, guess.id])
        #expect(page.hits[1].reasons.contains(.agentStatement))
        #expect(!page.hits[0].reasons.contains(.agentStatement))
        // Before the ranker, fusion put the guess first: the test can fail.
        var old = query
        old.ranking = .reciprocalRank
        #expect(try await recall.search(old).hits.first?.item.id == guess.id)
    }

    /// The stored source and trust decide: the agent's unverified passage ranks below the
    /// user's even when closer, and an agent statement marked trusted is not held back.
    @Test func storedTrustDecidesWhetherTheAgentsWordIsHeldBack() async throws {
        let f = try await StorageFixture.open(.sqlite)
        defer { f.discard() }
        let archival = f.store.archival(alice)
        let stored = try await archival.insert([
            NewArchivalPassage(text: "The user's bike lock code is 1234.", source: .agent, embedding: unitVector(axis: 6, tilt: 0.01)),
            NewArchivalPassage(text: "My bike lock code is 4471.", source: .user, embedding: unitVector(axis: 6, tilt: 0.3)),
            NewArchivalPassage(
                text: "Bike lock code confirmed as 9090 by the user.", source: .agent, trust: .trusted,
                embedding: unitVector(axis: 6, tilt: 0.02)),
        ])
        let page = try await archival.search(MemoryQuery(text: "bike lock code", embedding: unitVector(axis: 6), limit: 3))
        #expect(page.hits.count == 3)
        #expect(page.hits.last?.item.id == stored[0].id)
        #expect(page.hits.last?.reasons.contains(.agentStatement) == true)
        #expect(page.hits.filter { $0.reasons.contains(.agentStatement) }.count == 1)
    }

    @Test func aNewerStatementOverridesAnOlderOneWhenAskedForTheCurrentState() async throws {
        let f = try await StorageFixture.open(.sqlite)
        defer { f.discard() }
        let recall = f.store.recall(alice)
        let older = try await recall.append(
            .user("My sister Clara lives in Lisbon, she loves it."), at: day(3), embedding: unitVector(axis: 2, tilt: 0.1))
        for i in 0..<5 {
            try await recall.append(.user("Note \(i) about the garden."), at: day(10 + Double(i)), embedding: unitVector(axis: 5))
        }
        let newer = try await recall.append(
            .user("Big news: Clara has moved to Porto for good."), at: day(90), embedding: unitVector(axis: 2, tilt: 0.4))
        let page = try await recall.search(
            MemoryQuery(text: "Which city does my sister Clara live in now?", embedding: unitVector(axis: 2), limit: 3))
        #expect(page.hits.first?.item.id == newer.id)
        #expect(page.hits.first?.reasons.contains(.recent) == true)
        #expect(page.hits.map(\.item.id).contains(older.id))
        // Without "now", the closer older statement comes first.
        let plain = try await recall.search(
            MemoryQuery(text: "Which city does my sister Clara live in?", embedding: unitVector(axis: 2), limit: 3))
        #expect(plain.hits.first?.item.id == older.id)
    }

    @Test func aQueryNamingAMonthFindsThatMonthsEventBeyondTheUnfilteredLists() async throws {
        let f = try await StorageFixture.open(.sqlite)
        defer { f.discard() }
        let archival = f.store.archival(alice)
        // 30 concerts in other months, each closer to the query than March's, which shares
        // no word with the query: only the search of March itself can find it.
        var passages = (0..<30).map { i in
            NewArchivalPassage(
                text: "Went to a concert last night, band number \(i).", createdAt: day(100 + Double(i) * 10),
                embedding: unitVector(axis: 3, tilt: Float(i) * 0.001))
        }
        passages.append(
            NewArchivalPassage(
                text: "Saw The Lumineers yesterday, what a night.", createdAt: day(65), embedding: unitVector(axis: 3, tilt: 0.9)))
        let stored = try await archival.insert(passages)
        let march = stored.last!
        let page = try await archival.search(
            MemoryQuery(text: "Which band did I see live in March 2024?", embedding: unitVector(axis: 3), limit: 5))
        #expect(page.hits.first?.item.id == march.id)
        #expect(page.hits.first?.reasons.contains(.date) == true)
        // A date filter and the named month together: an empty intersection adds nothing and fails nothing.
        let disjoint = try await archival.search(
            MemoryQuery(text: "Which band did I see live in March 2024?", embedding: unitVector(axis: 3), after: day(200), limit: 5))
        #expect(!disjoint.hits.contains { $0.item.id == march.id })
    }

    @Test func fusionEdgeCases() async throws {
        let f = try await StorageFixture.open(.sqlite)
        defer { f.discard() }
        let recall = f.store.recall(alice)
        let a = try await recall.append(.user("alpha beta"), at: day(1), embedding: unitVector(axis: 0))
        let b = try await recall.append(.user("alpha beta"), at: day(1), embedding: unitVector(axis: 0))
        let c = try await recall.append(.user("gamma"), at: day(2), embedding: unitVector(axis: 4))
        // Empty word list (no record holds the word): meaning alone orders; ties go to the newer id.
        let dense = try await recall.search(MemoryQuery(text: "zeta", embedding: unitVector(axis: 0), limit: 3))
        #expect(dense.hits.map(\.item.id) == [b.id, a.id, c.id])
        #expect(dense.hits.allSatisfy { $0.textRank == nil })
        // Empty vector list (no embedding): words alone; the same tie rule.
        let words = try await recall.search(MemoryQuery(text: "alpha", limit: 3))
        #expect(words.hits.map(\.item.id) == [b.id, a.id])
        #expect(words.hits.allSatisfy { $0.similarity == nil && $0.score.isFinite })
        // Neither list finds anything.
        #expect(try await recall.search(MemoryQuery(text: "zeta", limit: 3)).hits.isEmpty)
        // Huge limits and offsets: the most allowed works, more is refused, nothing overflows.
        #expect(try await recall.search(MemoryQuery(text: "alpha", embedding: unitVector(axis: 0), limit: 1000)).hits.count == 3)
        await #expect(throws: StorageError.self) { try await recall.search(MemoryQuery(text: "alpha", limit: 1001)) }
        await #expect(throws: StorageError.self) { try await recall.search(MemoryQuery(text: "alpha", limit: 10, offset: Int.max)) }
        await #expect(throws: StorageError.self) { try await recall.search(MemoryQuery(text: "alpha", limit: Int.min)) }
        var nan = unitVector(axis: 0)
        nan[1] = .nan
        await #expect(throws: StorageError.self) { try await recall.search(MemoryQuery(text: "alpha", embedding: nan)) }
        let beyond = try await recall.search(MemoryQuery(text: "alpha", embedding: unitVector(axis: 0), limit: 10, offset: 1_000_000))
        #expect(beyond.hits.isEmpty && !beyond.hasMore)
    }

    @Test func queryCuesReadNamesMonthsYearsAndRecency() {
        let march = QueryCues("Which band did I see live in March 2024?")
        #expect(march.month == 3 && march.year == 2024 && march.dateRange != nil)
        #expect(QueryCues("May I ask where my keys are?").month == nil)
        #expect(QueryCues("What happened in May 2023?").month == 5)
        let year = QueryCues("Where did I travel in 2023?")
        #expect(year.month == nil && year.yearOnly == 2023)
        #expect(QueryCues("What is my current job?").wantsRecent)
        #expect(!QueryCues("What was my first job?").wantsRecent)
        #expect(MemoryRanker.names(in: "My dentist is Dr. Okafor. Went to see Clara in Porto.") == ["Dr", "Okafor", "Clara", "Porto"])
        #expect(MemoryRanker.names(in: "").isEmpty)
        #expect(QueryCues("").entities.isEmpty)
        // Extremes: a year out of range is not a date; a huge number does not trap.
        #expect(QueryCues("in 99999999999999999999 and 1e300").yearOnly == nil)
    }

    @Test func scoresStayFiniteAndOrderedForExtremeInputs() {
        let facts = RankingFacts(text: "x", agentStatement: false)
        let candidates = [
            MemoryRanker.Candidate(id: 1, textRank: Int.max, similarity: -1, createdAt: .distantPast, facts: facts),
            MemoryRanker.Candidate(id: 2, textRank: 1, similarity: .nan, createdAt: .distantFuture, facts: facts),
            MemoryRanker.Candidate(id: 3, textRank: nil, similarity: 1, createdAt: Date(timeIntervalSince1970: 1e15), facts: facts),
        ]
        let scored = MemoryRanker.score(candidates, cues: QueryCues("what is current now"))
        #expect(Set(scored.map(\.id)) == [1, 2, 3])
        #expect(scored.last?.id == 2, "a NaN similarity sinks to the bottom")
        #expect(MemoryRanker.score([], cues: QueryCues("x")).isEmpty)
    }
}
