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
        let loop = RefineLoop(
            requirement: "add two numbers", tests: ["t.py": ""], budget: .init(steps: 4, tokensPerStep: 50), runner: MarkerRunner())
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

    @Test func repairsAndFreshStartsSampleAtTheirOwnTemperatures() async throws {
        let model = ScriptedModel { _ in .text("```python\nwrong\n```") }
        var loop = RefineLoop(requirement: "r", tests: ["t.py": ""], budget: .init(steps: 5, tokensPerStep: 50), runner: MarkerRunner())
        loop.retryTemperatures = .init(repair: 0.3, fresh: 1.3)
        _ = try await loop.run { try await model.generate($0).collect() }
        #expect(model.requests.map(\.sampling.temperature) == [0, 0.3, 1.3, 0.3, 1.3])
    }

    @Test func aFreshPlanStartsEveryRetryAnew() async throws {
        let model = ScriptedModel { request in .text("```python\nwrong_\(request.messages.count)\n```") }
        var loop = RefineLoop(requirement: "r", tests: ["t.py": ""], budget: .init(steps: 4, tokensPerStep: 50), runner: MarkerRunner())
        loop.retryPlan = .fresh
        loop.retryTemperatures = .init(repair: 0.3, fresh: 1.3)
        _ = try await loop.run { try await model.generate($0).collect() }
        let requests = model.requests
        #expect(requests.map(\.sampling.temperature) == [0, 1.3, 1.3, 1.3])
        // No retry is shown earlier code; each names the earlier attempts' failures.
        #expect(requests.allSatisfy { $0.messages.map(\.role) == [.system, .user] })
        #expect(!requests.contains { lastUser(of: $0).contains("wrong_") })
        #expect(lastUser(of: requests[1]).contains("attempt 1: test_one"))
        #expect(lastUser(of: requests[3]).contains("attempt 3: test_one") && !lastUser(of: requests[3]).contains("attempt 4"))
        #expect(Set(requests.dropFirst().map(\.sampling.seed)).count == 3)
    }

    @Test func aRepairBuildsOnTheBestAttemptAndAFailedLoopHandsItOn() async throws {
        // Each "ok" in the code passes one of three tests.
        struct CountingRunner: TestRunner {
            func run(files: [String: String], tests: [String: String]) async throws -> TestReport {
                let passed = min(3, (files["solution.py"] ?? "").components(separatedBy: "ok").count - 1)
                return TestReport(passed: passed, total: 3, failures: passed < 3 ? ["test_\(passed + 1): AssertionError"] : [])
            }
        }
        let model = ScriptedModel(replies: ["ok ok", "broken", "ok", "ok_", "broken"].map { .text("```python\n\($0)\n```") })
        let loop = RefineLoop(requirement: "r", tests: ["t.py": ""], budget: .init(steps: 5, tokensPerStep: 50), runner: CountingRunner())
        let outcome = try await loop.run { try await model.generate($0).collect() }
        let requests = model.requests
        // Step 2 broke everything and step 3 passed one test: both repairs start from step 1's code.
        #expect(requests[1].messages[2].content.contains("ok ok"))
        #expect(requests[3].messages[2].content.contains("ok ok"))
        #expect(lastUser(of: requests[3]).contains("2 of 3 tests passed"))
        // The loop ran out of steps: it hands on the best attempt, not the last ("broken").
        #expect(!outcome.passed && outcome.stoppedBy == .steps)
        #expect(outcome.code == "ok ok" && outcome.report.passed == 2)
        #expect(outcome.tried.contains("best: 2/3"))
    }

    @Test func skillsAreFilesBesideTheCodeThatItMayImport() async throws {
        let gcd = Skill(
            id: "s1", owner: "o", description: "greatest common divisor", module: "solution.py",
            code: "import math\n\ndef gcd(a, b):\n    return math.gcd(a, b)\n\ndef _helper():\n    pass\n", tests: [:], provenance: "t")
        var clash = gcd
        clash.code = "def gcd(a, b):\n    return 0\n"
        let model = ScriptedModel(replies: [.text("```python\nwrong\n```"), .text(coderAnswer)])
        let runner = FilesRunner()
        let loop = RefineLoop(requirement: "lcm", tests: ["test_a.py": ""], skills: [gcd, clash, gcd], runner: runner)
        #expect(try await loop.run { try await model.generate($0).collect() }.skillsShown)
        // The first answer is the model's own: no skill in its prompt or beside its code.
        #expect(runner.files.first.map { Set($0.keys) } == ["solution.py"])
        #expect(!model.requests[0].messages.contains { $0.content.contains("skill_") })
        // The retry has them. Two skills at most; a second skill whose first function is taken gets a numbered file.
        #expect(runner.files.last.map { Set($0.keys) } == ["solution.py", "skill_gcd.py", "skill2.py"])
        #expect(runner.files.last?["skill_gcd.py"] == gcd.code)
        #expect(runner.files.last?["skill2.py"] == clash.code)
        let prompt = try #require(model.requests.last?.messages.first { $0.role == .user }?.content)
        #expect(prompt.contains("in the workspace as skill_gcd.py") && prompt.contains("`from skill_gcd import gcd`"))
        // A one-step loop shows them in its only step.
        let once = FilesRunner()
        var single = RefineLoop(requirement: "lcm", tests: ["test_a.py": ""], skills: [gcd], budget: .init(steps: 1), runner: once)
        _ = try await single.run { try await ScriptedModel(replies: [.text(coderAnswer)]).generate($0).collect() }
        #expect(once.files.first.map { Set($0.keys) } == ["solution.py", "skill_gcd.py"])
        // And skillsFromStep 0 shows them from the start.
        single.skillsFromStep = 0
        single.budget.steps = 3
        let early = FilesRunner()
        single.runner = early
        _ = try await single.run { try await ScriptedModel(replies: [.text(coderAnswer)]).generate($0).collect() }
        #expect(early.files.first.map { Set($0.keys) } == ["solution.py", "skill_gcd.py"])
        // A loop that passes with its own first answer never showed them: the pass is not theirs.
        single.skillsFromStep = 1
        let own = try await single.run { try await ScriptedModel(replies: [.text(coderAnswer)]).generate($0).collect() }
        #expect(own.passed && !own.skillsShown)
        #expect(gcd.functions == ["gcd", "_helper"])
        #expect(
            Skill(id: "", owner: "", description: "", module: "", code: "x = 1\ndef (\n  def inner():", tests: [:], provenance: "")
                .functions == [])
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

    @Test func examplesAssignedAtTheTopLevelAreRemovedWhenNothingUsesThem() {
        let library = """
            import re
            PATTERN = re.compile("x")

            def build_index():
                return {"a": 1}

            INDEX = build_index()

            def lookup(key):
                return INDEX.get(key)

            class Table:
                pass

            """
        let examples = """
            opts, rest = parse_args(
                ["--out=x", "in.txt"], {"v"})
            print(opts, rest)
            t = Table()
            same = lookup("a") == 1
            """
        let guarded = """

            if __name__ == "__main__":
                print(main)
            """
        let definitions = "def parse_args(argv, flags):\n    return {}, argv\n"
        // Examples that call the file's own functions go, with their continuation lines;
        // `INDEX`, which a function uses, and `PATTERN`, which calls no function of the file, stay.
        #expect(RefineLoop.libraryCode(library + definitions + examples) == library + definitions.dropLast())
        // A name something that stays uses is kept (here the `__main__` block).
        let used = library + "main = lookup(\"a\")" + guarded
        #expect(RefineLoop.libraryCode(used) == used)
        #expect(RefineLoop.libraryCode("def f():\n    return 1\nx == f()") == "def f():\n    return 1\nx == f()")
        #expect(RefineLoop.libraryCode("def f():\n    return 1\nx += f()") == "def f():\n    return 1\nx += f()")
    }

    @Test func codeIsTakenFromTheAnswersFence() {
        #expect(RefineLoop.extractCode("Here:\n```python\nx = 1\n```\nDone") == "x = 1")
        #expect(RefineLoop.extractCode("```\nshort\n```\n```py\nlonger one\n```") == "longer one")
        #expect(RefineLoop.extractCode("```python\nunterminated = 2") == "unterminated = 2")
        #expect(RefineLoop.extractCode("plain = 3\n") == "plain = 3")
        #expect(RefineLoop.extractCode("") == "")
    }
}

/// Records the files of each run; code that holds "wrong" fails.
final class FilesRunner: TestRunner {
    private let state = Mutex<[[String: String]]>([])
    var files: [[String: String]] { state.withLock { $0 } }
    func run(files: [String: String], tests: [String: String]) async throws -> TestReport {
        state.withLock { $0.append(files) }
        return (files["solution.py"] ?? "").contains("wrong")
            ? TestReport(passed: 0, total: 1, failures: ["test_a: wrong"]) : TestReport(passed: 1, total: 1)
    }
}
