import AnimaCore
import Foundation
import GRDB
import Testing

@testable import AnimaAutomation

/// Step writes arriving together share one commit, and each caller still gets its own
/// outcome: what it wrote is durable when it returns, and a write that fails takes only
/// its own changes with it (the group is retried write by write).
@Suite("SQLite group commit")
struct GroupCommitTests {
    @Test func concurrentStepWritesShareCommitsAndFailAlone() async throws {
        let store = try temporaryStore()
        struct Refused: Error {}
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for i in 0..<40 {
                group.addTask {
                    do {
                        try await store.grouped { db in
                            try store.history(db, run: "r\(i)", path: nil, event: "probe", detail: "write \(i)")
                            if i % 10 == 3 { throw Refused() }
                        }
                        return (i, true)
                    } catch {
                        return (i, false)
                    }
                }
            }
            var all: [Int: Bool] = [:]
            for await (i, ok) in group { all[i] = ok }
            return all
        }
        #expect(outcomes.count == 40)
        #expect(outcomes.filter { !$0.value }.keys.sorted() == [3, 13, 23, 33])
        let commits = await store.groupCommits
        #expect(commits < 40, "\(commits) commits for 40 concurrent writes: nothing was grouped")

        // What another connection sees: every write that returned, none that failed.
        let reader = try DatabaseQueue(path: store.path)
        let runs = try await reader.read { db in try String.fetchAll(db, sql: "SELECT run FROM history WHERE event = 'probe'") }
        #expect(Set(runs) == Set((0..<40).filter { $0 % 10 != 3 }.map { "r\($0)" }))
    }

    /// A lone write is not kept waiting for company.
    @Test func aSingleStepWriteCommitsAtOnce() async throws {
        let store = try temporaryStore()
        try await store.note(run: "solo", path: nil, event: "probe", detail: "alone")
        #expect(try await store.history(run: "solo").map(\.detail) == ["alone"])
        #expect(await store.groupCommits == 1)
    }
}
