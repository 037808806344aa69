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
    /// Verified solutions of similar tasks, shown as examples from step `skillsFromStep` on.
    public var skills: [Skill]
    /// The first step (0-based) that is shown the skills and has their files beside the
    /// code (or the last step, if earlier). 1 by default: the first answer is the model's
    /// own, and skills join the retries. On the build suite a small model shown a similar
    /// task's solution up front often rewrote that solution instead of its own task
    /// (BENCHMARKS.md).
    public var skillsFromStep = 1
    public var budget: Budget
    public var runner: any TestRunner
    /// Reasons earlier attempts at this subtask failed (`Orchestrator` retries with them).
    public var reflection: String?
    /// Whether the model's own checks and examples at the top level of the file are
    /// removed before the tests import it (`libraryCode`); off only to measure the model bare.
    public var tidiesCode = true
    /// The sampling temperatures of the retries: `repair` for the odd steps (the model
    /// shown its code and failures), `fresh` for the even ones (a new conversation). At 0.5
    /// and 0.8 both Qwen2.5-Coder models mostly wrote their first program again; at 0.8 and
    /// 1.1 the loop passed 3 more build-suite tasks than at 0.5 and 0.8 on each of them, most
    /// at a fresh start (BENCHMARKS.md, thirtieth session).
    public var retryTemperatures = RetryTemperatures()
    /// Which retries are repairs and which fresh starts. Most retries that passed on the build
    /// suite were fresh starts, yet every retry a fresh start passed no more tasks than
    /// alternating (0.5B: 22 against 23 of 43; BENCHMARKS.md, thirty-first session).
    public var retryPlan = RetryPlan.alternate

    public enum RetryPlan: String, Sendable, Hashable, Codable, CaseIterable {
        /// Repairs at the odd steps, fresh starts at the even ones.
        case alternate
        /// Every retry a fresh start.
        case fresh
    }

    public struct RetryTemperatures: Sendable, Hashable, Codable {
        public var repair: Double
        public var fresh: Double

        public init(repair: Double = 0.8, fresh: Double = 1.1) {
            self.repair = repair
            self.fresh = fresh
        }
    }

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
        var tried: [(code: String, report: TestReport)] = []
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
            var sized = request(step: step, attempts: tried)
            sized.sampling.maxTokens = min(budget.tokensPerStep, left)
            let result = try await generate(sized)
            used += result.usage.completionTokens
            code = Self.extractCode(result.text)
            if tidiesCode {
                // An answer its length limit cut inside the code block ends mid-statement.
                let fences = result.text.components(separatedBy: "```").count - 1
                code = Self.libraryCode(code, unfinished: result.finishReason == .length && (fences == 0 || fences % 2 == 1))
            }
            var files = [module: code]
            for (file, skill) in skillFiles where file != module && showsSkills(at: step) { files[file] = skill.code }
            report = try await runner.run(files: files, tests: tests)
            tried.append((code, report))
            attempts.append(RefineAttempt(step: step + 1, tokens: result.usage.completionTokens, report: report))
            if report.succeeded {
                stop = .passed
                break
            }
        }
        if stop != .passed, attempts.count == budget.steps { stop = .steps }
        // A loop that did not pass hands on its best attempt, not merely its last.
        if stop != .passed, let best = Self.best(tried) { (code, report) = best }
        return RefineOutcome(
            passed: report.succeeded, module: module, code: code, report: report, attempts: attempts, tokens: used, stoppedBy: stop,
            seconds: Self.seconds(clock.now - started), skillsShown: !skills.isEmpty && showsSkills(at: attempts.count - 1))
    }

    /// Whether step `step` is shown the skills: from `skillsFromStep` on, and in the last
    /// step at the latest (a one-step loop shows them in its only step).
    func showsSkills(at step: Int) -> Bool { step >= min(skillsFromStep, budget.steps - 1) }

    /// The skills shown (at most two), each with the file it is in beside the code under
    /// test so the code may import it: `skill_<its first function>.py`.
    var skillFiles: [(file: String, skill: Skill)] {
        var taken = Set(tests.keys).union([module])
        return skills.prefix(2).enumerated().map { index, skill in
            var file = "skill_\(skill.functions.first ?? String(index + 1)).py"
            if taken.contains(file) { file = "skill\(index + 1).py" }
            taken.insert(file)
            return (file, skill)
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// The attempt a repair builds on: the one that passed the most tests, the latest of
    /// equals. A retry that breaks more than it fixes is not the next one's starting point.
    static func best(_ attempts: [(code: String, report: TestReport)]) -> (code: String, report: TestReport)? {
        attempts.indices.max { (attempts[$0].report.passed, $0) < (attempts[$1].report.passed, $1) }.map { attempts[$0] }
    }

    /// The request of step `step` (0-based), given the attempts so far (code and report).
    ///
    /// The first step asks greedily. Later steps alternate between two ways of asking
    /// again, because a small model shown its own wrong code mostly writes the same mistake
    /// again (measured on the build suite, BENCHMARKS.md): a *repair* (odd steps: the
    /// conversation goes on with the best code so far and its failures) and a *fresh start* (even
    /// steps, or every retry under `RetryPlan.fresh`: a new conversation that names what the
    /// earlier attempts got wrong but not their code), each sampled with a different seed.
    func request(step: Int, attempts: [(code: String, report: TestReport)]) -> GenerationRequest {
        var system = Specialist.coder.instructions
        system += " Write the complete Python file \(module) that meets the requirement."
        system += " Answer with the whole file in one ```python code block and nothing else."
        system += " The tests import the file: put no tests, examples or calls at its top level."
        var user = "Requirement:\n\(requirement)\n"
        if showTests, !tests.isEmpty {
            user += "\nThese acceptance tests will be run against \(module) (you cannot change them):\n"
            for (name, text) in tests.sorted(by: { $0.key < $1.key }) { user += "```python\n# \(name)\n\(text)\n```\n" }
        }
        for (file, skill) in skillFiles where showsSkills(at: step) {
            let name = file.dropLast(3)
            let example = skill.functions.first.map { " (for example `from \(name) import \($0)`)" } ?? ""
            user += "\nA verified solution of a similar task (\(skill.description.prefix(200))) is in the workspace as \(file)."
            user += " You may import from it\(example) or adapt it:\n```python\n"
            user += String(skill.code.prefix(4000)) + "\n```\n"
        }
        if let reflection, !reflection.isEmpty { user += "\nAn earlier attempt failed. What was learned:\n\(reflection.prefix(1500))\n" }
        guard step > 0, let base = Self.best(attempts) else {
            return GenerationRequest(messages: [.system(system), .user(user)], sampling: .greedy())
        }
        let repair = retryPlan == .alternate && step % 2 == 1
        let sampling = SamplingParameters(
            temperature: repair ? retryTemperatures.repair : retryTemperatures.fresh, seed: UInt32(truncatingIfNeeded: step))
        if repair {
            return GenerationRequest(
                messages: [
                    .system(system), .user(user), .assistant("```python\n\(base.code)\n```"),
                    .user(
                        "The acceptance tests failed:\n\(base.report.summary)\n\nFix \(module). Answer with the whole corrected file in one ```python code block."
                    ),
                ], sampling: sampling)
        }
        // A fresh start: what went wrong before, in a line per attempt, without the code.
        user += "\nEarlier attempts failed the acceptance tests:\n"
        for (index, attempt) in attempts.suffix(3).enumerated() {
            user += "- attempt \(index + 1): " + attempt.report.firstFailure + "\n"
        }
        user += "Write a new solution that avoids these mistakes.\n"
        return GenerationRequest(messages: [.system(system), .user(user)], sampling: sampling)
    }

    /// `code` as a module to import: the top-level statements that only run the model's own
    /// examples and checks on import (`print(...)`, `assert ...`, a bare call such as
    /// `main()`, a `for` or `while` loop), each with its continuation lines, are removed, and
    /// so is an assignment of what a function of the file returns (`opts = parse_args([...])`)
    /// when nothing that stays uses its names: an example whose `print` went. Definitions,
    /// imports, other assignments and `if __name__ == "__main__":` blocks stay. A small
    /// model often ends its file with checks of its own that fail, or that the answer's
    /// length limit cuts mid-line, and the tests then cannot even import the file. When the
    /// code is `unfinished` (the limit cut it), its last top-level statement, which the cut
    /// left incomplete, goes too.
    public static func libraryCode(_ code: String, unfinished: Bool = false) -> String {
        // The top-level statements, each with its continuation lines; the first holds what
        // comes before any (a file that starts indented or with comments).
        var statements: [(lines: [Substring], dropped: Bool)] = [([], false)]
        var inString: Substring?  // the quotes of a triple-quoted string still open
        for line in code.split(separator: "\n", omittingEmptySubsequences: false) {
            if inString == nil, let first = line.first, !first.isWhitespace, first != "#", !")]}".contains(first) {
                statements.append(([], runsOnImport(line)))
            }
            statements[statements.count - 1].lines.append(line)
            for quotes in ["\"\"\"", "'''"] where inString == nil || inString == Substring(quotes) {
                if line.components(separatedBy: quotes).count % 2 == 0 { inString = inString == nil ? Substring(quotes) : nil }
            }
        }
        if unfinished, statements.count > 1, statements.last?.dropped == false { statements.removeLast() }
        let defined = Set(statements.compactMap { definedName($0.lines.first ?? "") })
        // How often each name occurs in the statements that stay, counted once for the file.
        let texts = statements.map { $0.lines.joined(separator: "\n") }
        let named = texts.map { words($0).map(\.name) }
        var uses: [Substring: Int] = [:]
        for index in statements.indices where !statements[index].dropped {
            for name in named[index] { uses[name, default: 0] += 1 }
        }
        for index in statements.indices where !statements[index].dropped {
            guard let (names, value) = assignment(texts[index]),
                words(value).contains(where: { $0.called && defined.contains(String($0.name)) })
            else { continue }
            let own = named[index]
            guard !names.contains(where: { name in uses[name, default: 0] > own.count(where: { $0 == name }) }) else { continue }
            statements[index].dropped = true
            for name in own { uses[name, default: 0] -= 1 }
        }
        return statements.filter { !$0.dropped }.flatMap(\.lines).joined(separator: "\n").trimmingCharacters(in: .newlines)
    }

    /// The function or class a top-level line defines (`def name(`, `async def`, `class name`).
    static func definedName(_ line: Substring) -> String? {
        line.firstMatch(of: try! Regex(#"^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)"#)).flatMap { $0[1].substring.map(String.init) }
    }

    /// The names a plain assignment statement sets (`a = ...`, `a, b = ...`) and its value.
    static func assignment(_ text: String) -> (names: [Substring], value: Substring)? {
        guard let match = text.firstMatch(of: try! Regex(#"^([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*=(?!=)"#)),
            let targets = match[1].substring
        else { return nil }
        return (targets.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces)[...] }, text[match.range.upperBound...])
    }

    /// The names in `code` (identifiers, wherever they occur: `INDEX` in `INDEX.get`), each
    /// with whether a call follows it (`f(`, `f (`).
    static func words(_ code: some StringProtocol) -> [(name: Substring, called: Bool)] {
        let text = Substring(code)
        func part(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }
        var found: [(name: Substring, called: Bool)] = []
        var index = text.startIndex
        while index < text.endIndex {
            guard part(text[index]) else {
                index = text.index(after: index)
                continue
            }
            let start = index
            while index < text.endIndex, part(text[index]) { index = text.index(after: index) }
            guard !text[start].isNumber else { continue }
            let next = text[index...].first { $0 != " " && $0 != "\t" }
            found.append((text[start..<index], next == "("))
        }
        return found
    }

    /// Whether a top-level statement starting with `line` runs example code on import.
    static func runsOnImport(_ line: Substring) -> Bool {
        for start in ["print(", "print (", "assert ", "assert(", "for ", "while "] where line.hasPrefix(start) { return true }
        // A bare call: a dotted name, then "(" (an assignment has "=" before its call).
        guard let paren = line.firstIndex(of: "(") else { return false }
        let callee = line[..<paren]
        return !callee.isEmpty && callee.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }
            && !["if", "elif", "while", "with", "return", "yield", "not", "del", "raise"].contains(callee)
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
    /// The passing code, or the best attempt's (most tests passed, the latest of equals).
    public var code: String
    /// That code's test run.
    public var report: TestReport
    public var attempts: [RefineAttempt]
    /// Tokens generated over all steps.
    public var tokens: Int
    public var stoppedBy: Stop
    public var seconds: Double
    /// Whether the skills were shown: a loop that passed with its first answer never showed
    /// them (`RefineLoop.skillsFromStep`), so that pass is not theirs.
    public var skillsShown: Bool

    /// What the coder hands on (matches `TaskNode.coderOutput`).
    public var handoff: JSONValue {
        [
            "module": .string(module), "code": .string(code), "passed": .number(Double(report.passed)),
            "total": .number(Double(report.total)),
        ]
    }

    /// One line on what was tried, for the user's report.
    public var tried: String {
        "\(attempts.count) attempt(s), \(tokens) tokens, stopped by \(stoppedBy.rawValue); best: \(report.passed)/\(report.total) tests passed"
    }
}
