import AnimaAutomation
import AnimaCore
import AnimaProcessor
import AnimaTesting
import Foundation
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

    @Test func codeIsTakenFromTheAnswersFence() {
        #expect(RefineLoop.extractCode("Here:\n```python\nx = 1\n```\nDone") == "x = 1")
        #expect(RefineLoop.extractCode("```\nshort\n```\n```py\nlonger one\n```") == "longer one")
        #expect(RefineLoop.extractCode("```python\nunterminated = 2") == "unterminated = 2")
        #expect(RefineLoop.extractCode("plain = 3\n") == "plain = 3")
        #expect(RefineLoop.extractCode("") == "")
    }
}
