import AnimaAutomation
import AnimaCore
import Foundation
import Testing

@Suite("Skills")
struct SkillLibraryTests {
    @Test func skillsAreFoundByMeaningAndDemotedWhenTheyFail() async throws {
        let library = try SkillLibrary(directory: temporaryDirectory())
        let csv = try await library.add(
            owner: "alice", description: "Parse a CSV line into fields, honouring quoted commas", module: "solution.py",
            code: "def parse(line): ...", tests: ["test_a.py": "def test_a(): pass"], provenance: "task t-1")
        _ = try await library.add(
            owner: "alice", description: "Compute the greatest common divisor of two integers", module: "solution.py",
            code: "def gcd(a,b): ...",
            tests: [:], provenance: "task t-2")
        _ = try await library.add(
            owner: "bob", description: "Parse CSV quoted fields", module: "solution.py", code: "x", tests: [:], provenance: "b")
        let found = try await library.retrieve("split a CSV row with quoted fields into a list", owner: "alice")
        #expect(found.first?.0.id == csv.id)
        #expect(found.allSatisfy { $0.0.owner == "alice" }, "another user's skills are never offered")
        #expect(try await library.retrieve("render a 3D teapot", owner: "alice").isEmpty)

        try await library.recordUse(csv.id, passed: false)
        #expect(try await library.skill(csv.id, owner: "alice").isDemoted)
        #expect(try await library.retrieve("split a CSV row with quoted fields", owner: "alice").first?.0.id != csv.id)

        let exported = try await library.export(owner: "alice")
        #expect(exported.arrayValue?.count == 2)
        try await library.forget(csv.id, owner: "alice")
        await #expect(throws: TaskError.self) { try await library.skill(csv.id, owner: "alice") }
        await #expect(throws: TaskError.self) { try await library.forget(csv.id, owner: "alice") }
        let bobs = try await library.list(owner: "bob")
        await #expect(throws: TaskError.self) { try await library.forget(bobs[0].id, owner: "alice") }
    }

    @Test func anEmbedderRanksWhenGiven() async throws {
        let library = try SkillLibrary(directory: temporaryDirectory()) { text in
            text.contains("sort") ? [1, 0] : [0, 1]
        }
        let a = try await library.add(owner: "u", description: "sort a list", module: "m.py", code: "", tests: [:], provenance: "p")
        _ = try await library.add(owner: "u", description: "reverse words", module: "m.py", code: "", tests: [:], provenance: "p")
        #expect(try await library.retrieve("order numbers with sort", owner: "u", limit: 1).first?.0.id == a.id)
    }
}
