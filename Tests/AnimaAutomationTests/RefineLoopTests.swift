import AnimaAutomation
import AnimaCore
import AnimaProcessor
import AnimaTesting
import Foundation
import Synchronization
import Testing

@Suite("Generate, test, refine")
struct RefineLoopTests {
    @Test func failuresGoBackToTheCoderUntilTheTestsPass() async throws {
        let model = ScriptedModel(replies: [.text("```python\ndef add(a, b):\n    return a * b\n```"), .text(coderAnswer)])
        let runner = MarkerRunner()
        let loop = RefineLoop(requirement: "add two numbers", tests: ["test_acceptance.py": "secret"], showTests: false, runner: runner)
        let outcome = try await loop.run { try await model.generate($0).collect() }
        #expect(outcome.passed)
        #expect(outcome.attempts.count == 2)
        #expect(outcome.stoppedBy == .passed)
        #expect(outcome.code.contains("return a + b"))
        // The second request shows the failure, not the hidden tests.
        let second = model.requests[1].messages.map(\.content).joined(separator: "\n")
        #expect(second.contains("expected 3, got 4"))
        #expect(!model.requests.flatMap(\.messages).contains { $0.content.contains("secret") })
    }

    @Test func laterStepsAlternateARepairAndAFreshStart() async throws {
        let model = ScriptedModel { request in .text("```python\nwrong_\(request.messages.count)\n```") }
        let loop = RefineLoop(requirement: "add two numbers", tests: ["t.py": ""], budget: .init(steps: 4, tokensPerStep: 50), runner: MarkerRunner())
        let outcome = try await loop.run { try await model.generate($0).collect() }
        #expect(outcome.attempts.count == 4)
        let requests = model.requests
        #expect(requests[0].sampling.temperature == 0)
        // A repair: the conversation goes on with the last code and its failures.
        #expect(requests[1].messages.map(\.role) == [.system, .user, .assistant, .user])
        #expect(requests[1].messages[2].content.contains("wrong_2"))
        #expect(lastUser(of: requests[1]).contains("expected 3, got 4"))
        // A fresh start: the earlier failures named, none of the earlier code shown.
        #expect(requests[2].messages.map(\.role) == [.system, .user])
        #expect(lastUser(of: requests[2]).contains("attempt 2: test_one: AssertionError: expected 3, got 4"))
        #expect(!lastUser(of: requests[2]).contains("wrong_"))
        #expect(requests[3].messages.count == 4)
        // Every later step samples, each with its own seed.
        #expect(requests.dropFirst().allSatisfy { $0.sampling.temperature > 0 })
        #expect(Set(requests.dropFirst().map(\.sampling.seed)).count == 3)
    }

    @Test func skillsAreFilesBesideTheCodeThatItMayImport() async throws {
        let gcd = Skill(
            id: "s1", owner: "o", description: "greatest common divisor", module: "solution.py",
            code: "import math\n\ndef gcd(a, b):\n    return math.gcd(a, b)\n\ndef _helper():\n    pass\n", tests: [:], provenance: "t")
        var clash = gcd
        clash.code = "def gcd(a, b):\n    return 0\n"
        let model = ScriptedModel(replies: [.text(coderAnswer)])
        let runner = FilesRunner()
        let loop = RefineLoop(requirement: "lcm", tests: ["test_a.py": ""], skills: [gcd, clash, gcd], runner: runner)
        _ = try await loop.run { try await model.generate($0).collect() }
        // Two skills at most; a second skill whose first function is taken gets a numbered file.
        #expect(runner.files.first.map { Set($0.keys) } == ["solution.py", "skill_gcd.py", "skill2.py"])
        #expect(runner.files.first?["skill_gcd.py"] == gcd.code)
        #expect(runner.files.first?["skill2.py"] == clash.code)
        let prompt = lastUser(of: model.requests[0])
        #expect(prompt.contains("in the workspace as skill_gcd.py") && prompt.contains("`from skill_gcd import gcd`"))
        #expect(gcd.functions == ["gcd", "_helper"])
        #expect(Skill(id: "", owner: "", description: "", module: "", code: "x = 1\ndef (\n  def inner():", tests: [:], provenance: "").functions == [])
    }

    @Test func theLoopStopsAtItsStepBudget() async throws {
        let model = ScriptedModel { _ in .text("```python\nwrong\n```") }
        let loop = RefineLoop(requirement: "r", tests: ["t.py": ""], budget: .init(steps: 3, tokensPerStep: 50), runner: MarkerRunner())
        let outcome = try await loop.run { try await model.generate($0).collect() }
        #expect(!outcome.passed)
        #expect(outcome.attempts.count == 3)
        #expect(outcome.stoppedBy == .steps)
        #expect(model.requests.count == 3)
    }

    @Test func theLoopStopsAtItsTokenBudget() async throws {
        let model = ScriptedModel { _ in .text(String(repeating: "w ", count: 40)) }
        let loop = RefineLoop(
            requirement: "r", tests: ["t.py": ""], budget: .init(steps: 100, tokensPerStep: 30, totalTokens: 70), runner: MarkerRunner())
        let outcome = try await loop.run { try await model.generate($0).collect() }
        #expect(outcome.stoppedBy == .tokens)
        #expect(outcome.tokens <= 70)
        #expect(model.requests.map { $0.sampling.maxTokens } == [30, 30, 10])
    }

    @Test func theLoopStopsAtItsWallTime() async throws {
        let model = ScriptedModel { _ in .text("x") }
        let loop = RefineLoop(
            requirement: "r", tests: ["t.py": ""], budget: .init(steps: 1_000_000, wallTime: .milliseconds(200)), runner: MarkerRunner())
        let outcome = try await loop.run { request in
            try await Task.sleep(for: .milliseconds(30))
            return try await model.generate(request).collect()
        }
        #expect(outcome.stoppedBy == .wallTime)
        #expect(outcome.attempts.count < 50)
    }

    @Test func theModelsOwnChecksAndExamplesAreNotRunOnImport() {
        // What stays: imports, assignments, definitions (a docstring's lines included),
        // comments and the main guard.
        let library = """
            import sys
            from math import (
                gcd,
            )

            LIMIT = max(1, 2)

            @cache
            def lcm(a, b):
                \"\"\"Least common multiple.
            print(lcm(2, 3))  # inside a docstring: kept
            \"\"\"
                return a * b // gcd(a, b)

            # Examples

            """
        let checks = """
            print(lcm(4, 6))
            assert lcm(2, 3) == 6, (
                "wrong"
            )
            for n in range(3):
                print(n)
            main()
            sys.exit(main())

            """
        let guarded = """
            if __name__ == "__main__":
                print(lcm(1, 1))
            """
        let kept = RefineLoop.libraryCode(library + checks + guarded + "\nprint(lcm(12345678901234567890")
        #expect(kept == library + guarded)
        // Cut by the length limit: the unfinished last statement goes; an unfinished check is dropped anyway.
        let cut = "def f():\n    return 1\n\ndef check():\n    assert f() == 1\n    assert"
        #expect(RefineLoop.libraryCode(cut, unfinished: true) == "def f():\n    return 1")
        #expect(RefineLoop.libraryCode(cut) == cut)
        #expect(RefineLoop.libraryCode("def f():\n    return 1\nprint(f(", unfinished: true) == "def f():\n    return 1")
        #expect(RefineLoop.libraryCode("x = 1") == "x = 1")
        #expect(RefineLoop.libraryCode("") == "")
    }

    @Test func codeIsTakenFromTheAnswersFence() {
        #expect(RefineLoop.extractCode("Here:\n```python\nx = 1\n```\nDone") == "x = 1")
        #expect(RefineLoop.extractCode("```\nshort\n```\n```py\nlonger one\n```") == "longer one")
        #expect(RefineLoop.extractCode("```python\nunterminated = 2") == "unterminated = 2")
        #expect(RefineLoop.extractCode("plain = 3\n") == "plain = 3")
        #expect(RefineLoop.extractCode("") == "")
    }
}

/// Passes everything and keeps the files of each run.
final class FilesRunner: TestRunner {
    private let state = Mutex<[[String: String]]>([])
    var files: [[String: String]] { state.withLock { $0 } }
    func run(files: [String: String], tests: [String: String]) async throws -> TestReport {
        state.withLock { $0.append(files) }
        return TestReport(passed: 1, total: 1)
    }
}
