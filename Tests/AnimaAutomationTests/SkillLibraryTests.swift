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

    @Test func retrievalScoresByWordsMeaningOrBoth() async throws {
        // "numbers" means sorting to this embedder; in words the query shares "arrange" with the other skill.
        let embed: SkillLibrary.Embed = { text in text.contains("sort") || text.contains("numbers") ? [1, 0] : [0, 1] }
        let directory = temporaryDirectory()
        var found: [SkillLibrary.Scoring: (String, Double)] = [:]
        for scoring in SkillLibrary.Scoring.allCases {
            let library = try SkillLibrary(directory: directory.appendingPathComponent(scoring.rawValue), scoring: scoring, embed: embed)
            #expect(library.scoring == scoring)
            for description in ["sort a list", "arrange items in a row"] {
                try await library.add(owner: "u", description: description, module: "m.py", code: "", tests: [:], provenance: description)
            }
            let top = try #require(try await library.retrieve("arrange the numbers", owner: "u", minimumScore: 0).first)
            found[scoring] = (top.0.provenance, top.1)
        }
        #expect(found[.words]?.0 == "arrange items in a row")
        #expect(found[.meaning]?.0 == "sort a list" && found[.meaning]?.1 == 1)
        // The mean: 1 and 0 for the first skill, 0 and less than 1 for the second.
        #expect(found[.hybrid]?.0 == "sort a list" && found[.hybrid]?.1 == 0.5)
        // Without an embedder, words; skills kept before an embedder was configured are matched by words too.
        let plain = try SkillLibrary(directory: directory.appendingPathComponent("plain"), scoring: .meaning)
        #expect(plain.scoring == .words)
        try await plain.add(owner: "u", description: "sort a list", module: "m.py", code: "", tests: [:], provenance: "p")
        let later = try SkillLibrary(directory: directory.appendingPathComponent("plain"), scoring: .meaning, embed: embed)
        #expect(try await later.retrieve("arrange the numbers", owner: "u", minimumScore: 0).first?.1 == 0)
    }
}
