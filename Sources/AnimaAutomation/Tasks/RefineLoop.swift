import AnimaCore
import AnimaKernel
import AnimaProcessor
import Foundation

/// Generate → test → refine: a coder writes a file, the acceptance tests run on it in the
/// sandbox, and the failures go back to the coder until the tests pass or the budget ends.
///
/// The acceptance tests are fixed before the loop starts; the coder only ever supplies
/// the one file `module` (it can neither name nor write the test files; see
/// `SandboxTestRunner`). Run inside a kernel process (`run(in:)`), each generation is a
/// syscall, so the process's token and wall-time quotas bound the loop as well as `budget`.
public struct RefineLoop: Sendable {
    /// How much the loop may spend; it stops at the first limit reached.
    public struct Budget: Sendable, Hashable, Codable {
        /// Model calls (1 is one-shot generation).
        public var steps: Int
        /// Tokens each answer may have.
        public var tokensPerStep: Int
        /// Tokens generated over all steps; nil: steps × tokensPerStep.
        public var totalTokens: Int?
        /// Wall time of the whole loop, tests included; nil: none.
        public var wallTime: Duration?

        public init(steps: Int = 4, tokensPerStep: Int = 512, totalTokens: Int? = nil, wallTime: Duration? = nil) {
            self.steps = max(1, steps)
            self.tokensPerStep = max(1, tokensPerStep)
            self.totalTokens = totalTokens
            self.wallTime = wallTime
        }
    }

    public typealias Generate = @Sendable (GenerationRequest) async throws -> GenerationResult

    public var requirement: String
    /// The file the coder writes.
    public var module: String
    /// The acceptance tests, file name → Python source.
    public var tests: [String: String]
    /// Whether the coder may read the tests (false for hidden benchmark tests: it reads only failures).
    public var showTests: Bool
    /// Verified solutions of similar tasks, shown as examples.
    public var skills: [Skill]
    public var budget: Budget
    public var runner: any TestRunner
    /// Reasons earlier attempts at this subtask failed (`Orchestrator` retries with them).
    public var reflection: String?

    public init(
        requirement: String, module: String = "solution.py", tests: [String: String], showTests: Bool = true, skills: [Skill] = [],
        budget: Budget = Budget(), runner: any TestRunner, reflection: String? = nil
    ) {
        self.requirement = requirement
        self.module = module
        self.tests = tests
        self.showTests = showTests
        self.skills = skills
        self.budget = budget
        self.runner = runner
        self.reflection = reflection
    }

    /// Runs the loop with the process's generations (syscalls, counted against its quotas).
    public func run(in context: ProcessContext) async throws -> RefineOutcome {
        try await run { try await context.generate($0) }
    }

    public func run(generate: Generate) async throws -> RefineOutcome {
        let clock = ContinuousClock()
        let started = clock.now
        let totalTokens = budget.totalTokens ?? budget.steps * budget.tokensPerStep
        var attempts: [RefineAttempt] = []
        var used = 0
        var code = ""
        var report = TestReport(passed: 0, total: 0, problem: "no attempt was made")
        var stop = RefineOutcome.Stop.steps
        for step in 0..<budget.steps {
            if let wall = budget.wallTime, clock.now - started >= wall {
                stop = .wallTime
                break
            }
            let left = totalTokens - used
            guard left > 0 else {
                stop = .tokens
                break
            }
            try Task.checkCancellation()
            let request = self.request(step: step, previous: attempts.last.map { (code, $0.report) })
            var sized = request
            sized.sampling.maxTokens = min(budget.tokensPerStep, left)
            let result = try await generate(sized)
            used += result.usage.completionTokens
            code = Self.extractCode(result.text)
            report = try await runner.run(files: [module: code], tests: tests)
            attempts.append(RefineAttempt(step: step + 1, tokens: result.usage.completionTokens, report: report))
            if report.succeeded {
                stop = .passed
                break
            }
        }
        if stop != .passed, attempts.count == budget.steps { stop = .steps }
        return RefineOutcome(
            passed: report.succeeded, module: module, code: code, report: report, attempts: attempts, tokens: used, stoppedBy: stop,
            seconds: Self.seconds(clock.now - started))
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// The request of step `step` (0-based); after the first, it carries the last code and its failures.
    func request(step: Int, previous: (code: String, report: TestReport)?) -> GenerationRequest {
        var system = Specialist.coder.instructions
        system += " Write the complete Python file \(module) that meets the requirement."
        system += " Answer with the whole file in one ```python code block and nothing else."
        var user = "Requirement:\n\(requirement)\n"
        if showTests, !tests.isEmpty {
            user += "\nThese acceptance tests will be run against \(module) (you cannot change them):\n"
            for (name, text) in tests.sorted(by: { $0.key < $1.key }) { user += "```python\n# \(name)\n\(text)\n```\n" }
        }
        for skill in skills.prefix(2) {
            user += "\nA verified solution of a similar task (\(skill.description.prefix(200))), for reference:\n```python\n"
            user += String(skill.code.prefix(4000)) + "\n```\n"
        }
        if let reflection, !reflection.isEmpty { user += "\nAn earlier attempt failed. What was learned:\n\(reflection.prefix(1500))\n" }
        var messages: [ChatMessage] = [.system(system), .user(user)]
        if let previous {
            messages.append(.assistant("```python\n\(previous.code)\n```"))
            messages.append(
                .user(
                    "The acceptance tests failed:\n\(previous.report.summary)\n\nFix \(module). Answer with the whole corrected file in one ```python code block."
                ))
        }
        // Greedy first; later steps sample a little so a stuck model can leave its rut.
        let sampling =
            step == 0 ? SamplingParameters.greedy() : SamplingParameters(temperature: 0.4, seed: UInt32(truncatingIfNeeded: step))
        return GenerationRequest(messages: messages, sampling: sampling)
    }

    /// The code in a model's answer: the longest fenced block, an unterminated one to the
    /// end, or the whole text when it has no fence.
    public static func extractCode(_ text: String) -> String {
        let parts = text.components(separatedBy: "```")
        guard parts.count > 1 else { return text.trimmingCharacters(in: .whitespacesAndNewlines) }
        // Odd-indexed parts are inside fences; a last odd part without a closing fence still counts.
        var best = ""
        for index in stride(from: 1, to: parts.count, by: 2) {
            var block = parts[index]
            if let newline = block.firstIndex(of: "\n") {
                let tag = block[..<newline].trimmingCharacters(in: .whitespaces)
                if tag.isEmpty || tag.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" }) {
                    block = String(block[block.index(after: newline)...])
                }
            }
            if block.count > best.count { best = block }
        }
        return best.trimmingCharacters(in: .newlines)
    }
}

/// One round of the loop.
public struct RefineAttempt: Sendable, Hashable, Codable {
    public var step: Int
    public var tokens: Int
    public var report: TestReport
}

/// How a `RefineLoop` ended.
public struct RefineOutcome: Sendable, Hashable, Codable {
    public enum Stop: String, Sendable, Hashable, Codable {
        case passed, steps, tokens
        case wallTime = "wall time"
    }

    public var passed: Bool
    public var module: String
    public var code: String
    /// The last test run.
    public var report: TestReport
    public var attempts: [RefineAttempt]
    /// Tokens generated over all steps.
    public var tokens: Int
    public var stoppedBy: Stop
    public var seconds: Double

    /// What the coder hands on (matches `TaskNode.coderOutput`).
    public var handoff: JSONValue {
        [
            "module": .string(module), "code": .string(code), "passed": .number(Double(report.passed)),
            "total": .number(Double(report.total)),
        ]
    }

    /// One line on what was tried, for the user's report.
    public var tried: String {
        "\(attempts.count) attempt(s), \(tokens) tokens, stopped by \(stoppedBy.rawValue); last: \(report.passed)/\(report.total) tests passed"
    }
}
