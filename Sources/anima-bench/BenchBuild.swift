import AnimaAutomation
import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaProcessor
import AnimaTools
import ArgumentParser
import Foundation

/// The build suite: small programming tasks with hidden acceptance tests, solved one-shot,
/// by the generate → test → refine loop, and by the loop with skills from earlier tasks.
struct BenchBuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Pass rate on the build suite: one-shot vs the refine loop vs the loop with skills.",
        discussion: """
            Each task (contrib/bench/build/*.json) is a requirement and hidden Python tests,
            run in the sandbox and never shown to the model. One-shot asks once (the same
            model, the same tokens per answer; one-shot-bare tests the answer's code as it
            is, one-shot without the model's own top-level checks); the loop shows the model its failures and
            asks again, up to --steps times; loop+skills also shows verified solutions
            (kept from tasks earlier in the suite that the loop passed) retrieved by
            meaning. "Similar" tasks are those whose family (a field of each task) appeared
            earlier in the suite. Every answer is a generation syscall of a kernel process
            whose token quota is the loop's budget.

            Example:
              anima-bench build --limit 12 --model ~/.cache/anima/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
            """
    )

    @Option(help: ArgumentHelp("The suite's directory (default: contrib/bench/build in the source tree).", valueName: "path"))
    var suite: String?

    @Option(help: "Comma-separated modes: one-shot-bare, one-shot, loop, loop+skills.")
    var modes = "one-shot-bare,one-shot,loop,loop+skills"

    @Option(help: NumericFlag.help("Model calls of the loop per task.", 1...20), transform: NumericFlag.integer(1...20))
    var steps = 4

    @Option(help: NumericFlag.help("Tokens per answer.", 16...4096), transform: NumericFlag.integer(16...4096))
    var tokensPerStep = 384

    @Option(help: NumericFlag.help("Run only the first n tasks (0: all).", 0...10_000), transform: NumericFlag.integer(0...10_000))
    var limit = 0

    @Flag(help: "Print each task's result.")
    var verbose = false

    @Flag(help: "With --verbose, print the code of each failed answer too.")
    var showCode = false

    @OptionGroup var modelOptions: ModelOptions

    struct BuildTask: Sendable {
        var id: String
        var family: String
        var requirement: String
        var module: String
        var tests: String
    }

    struct Result: Sendable {
        var passed: Bool
        var seconds: Double
        var tokens: Int
        var similar: Bool
    }

    /// In the order they run on each task: the model's answer as it is (only the fenced
    /// code taken), the same with its own checks removed (`RefineLoop.libraryCode`), the
    /// loop, the loop with skills.
    static let modes = ["one-shot-bare", "one-shot", "loop", "loop+skills"]

    static var defaultSuite: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("contrib/bench/build").path
    }

    static func load(_ directory: String) throws -> [BuildTask] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            let json = try JSONValue(parsing: String(contentsOfFile: directory + "/" + name, encoding: .utf8))
            guard let id = json["id"]?.stringValue, let requirement = json["requirement"]?.stringValue,
                let tests = json["tests"]?.stringValue
            else { throw ValidationError("\(name) lacks id, requirement or tests") }
            return BuildTask(
                id: id, family: json["family"]?.stringValue ?? id, requirement: requirement,
                module: json["module"]?.stringValue ?? "solution.py", tests: tests)
        }
    }

    mutating func run() async throws {
        var tasks = try Self.load(suite ?? Self.defaultSuite)
        if limit > 0 { tasks = Array(tasks.prefix(limit)) }
        let chosen = modes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for mode in chosen where !Self.modes.contains(mode) {
            throw ValidationError("unknown mode \(mode); use \(Self.modes.joined(separator: ", "))")
        }
        try Sandbox.standard.check()
        let engine = try await modelOptions.load()
        let kernel = Kernel(.init(processor: engine))
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("anima-bench-build-" + UUID().uuidString)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let runner = SandboxTestRunner(base: scratch.appendingPathComponent("runs").path)
        let skills = try SkillLibrary(directory: scratch)
        var seenFamilies = Set<String>()
        let similar = tasks.map { task in !seenFamilies.insert(task.family).inserted }
        say(
            "build suite: \(tasks.count) tasks (\(similar.filter { $0 }.count) similar to an earlier one), model \(engine.info.name), \(steps) steps × \(tokensPerStep) tokens"
        )
        var table: [String: [Result]] = [:]
        // Task by task, every mode, so a partial run still compares the modes on the same
        // tasks; skills come from what the loop passed on earlier tasks.
        for (index, task) in tasks.enumerated() {
            var verified: String?
            for mode in Self.modes where chosen.contains(mode) {
                var shown: [Skill] = []
                if mode == "loop+skills" { shown = try await skills.retrieve(task.requirement, owner: "bench").map(\.0) }
                let budget = RefineLoop.Budget(steps: mode.hasPrefix("one-shot") ? 1 : steps, tokensPerStep: tokensPerStep)
                var refine = RefineLoop(
                    requirement: task.requirement, module: task.module, tests: ["test_hidden.py": task.tests], showTests: false,
                    skills: shown, budget: budget, runner: runner)
                refine.tidiesCode = mode != "one-shot-bare"
                let loop = refine
                let box = OutcomeBox()
                let pid = try await kernel.spawn(
                    name: "build-\(task.id)", owner: .root, quotas: Quotas(tokens: budget.steps * tokensPerStep)
                ) { context in
                    box.outcome = try await loop.run(in: context)
                    return ""
                }
                let status = try await kernel.wait(pid)
                let outcome = box.outcome
                let passed = outcome?.passed ?? false
                table[mode, default: []].append(
                    Result(passed: passed, seconds: outcome?.seconds ?? 0, tokens: outcome?.tokens ?? 0, similar: similar[index]))
                if mode == "loop+skills" {
                    for skill in shown { try await skills.recordUse(skill.id, passed: passed) }
                }
                if verbose {
                    let detail = outcome.map { "\($0.attempts.count) step(s), \($0.report.passed)/\($0.report.total) tests" } ?? "\(status)"
                    let note = shown.isEmpty ? "" : ", \(shown.count) skill(s)"
                    say(
                        "  \(task.id) \(mode): \(passed ? "pass" : "fail") (\(detail), \(String(format: "%.1f", outcome?.seconds ?? 0)) s\(note))"
                    )
                    if let outcome, !passed {
                        say("    last: " + outcome.report.firstFailure)
                        if showCode { say(outcome.code.split(separator: "\n", omittingEmptySubsequences: false).map { "    | " + $0 }.joined(separator: "\n")) }
                    }
                }
                if mode == "loop", passed { verified = outcome?.code }
            }
            // The loop's verified solution is kept once this task is done: only later tasks see it.
            if let verified {
                try await skills.add(
                    owner: "bench", description: task.requirement, module: task.module, code: verified, tests: [:],
                    provenance: "build suite \(task.id)")
            }
        }
        say(Self.report(table, order: chosen))
    }

    static func report(_ table: [String: [Result]], order: [String]) -> String {
        func rate(_ rs: [Result]) -> Double { rs.isEmpty ? 0 : Double(rs.filter(\.passed).count) / Double(rs.count) }
        var lines = ["mode          passed   rate    similar-rate  s/task  tokens/task"]
        for mode in order {
            guard let rs = table[mode] else { continue }
            let sim = rs.filter(\.similar)
            let seconds = rs.map(\.seconds).reduce(0, +) / Double(max(1, rs.count))
            let tokens = Double(rs.map(\.tokens).reduce(0, +)) / Double(max(1, rs.count))
            lines.append(
                "\(mode.padding(toLength: 14, withPad: " ", startingAt: 0))\(rs.filter(\.passed).count)/\(rs.count)".padding(
                    toLength: 23, withPad: " ", startingAt: 0)
                    + String(format: "%5.1f%%  %5.1f%% (%d)    %6.1f  %7.0f", 100 * rate(rs), 100 * rate(sim), sim.count, seconds, tokens))
        }
        for anchor in ["one-shot-bare", "one-shot"] {
            guard let one = table[anchor], let loop = table["loop"] else { continue }
            let ratio = rate(one) > 0 ? String(format: "%.2fx", rate(loop) / rate(one)) : "n/a (\(anchor) passed none)"
            lines.append("loop / \(anchor) pass rate: \(ratio)")
        }
        if let loop = table["loop"], let skilled = table["loop+skills"] {
            let delta = 100 * (rate(skilled.filter(\.similar)) - rate(loop.filter(\.similar)))
            lines.append(String(format: "skills on similar tasks: %+.1f points", delta))
        }
        return lines.joined(separator: "\n")
    }
}

/// Writes a line at once, unbuffered: a run takes most of an hour, and its progress is
/// read from a file.
private func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Carries a loop's outcome out of its process.
private final class OutcomeBox: @unchecked Sendable {
    var outcome: RefineOutcome?
}
