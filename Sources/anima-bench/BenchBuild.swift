import AnimaAutomation
import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaLlama
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
            whose token quota is the loop's budget. --jobs solves several tasks at once in
            the engine's continuous batch; the loop with skills still sees only the
            solutions of tasks before it in the suite. A task shown no skill counts its
            loop result in loop+skills rather than solving it again.

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

    @Option(
        help: NumericFlag.help("Sampling temperature of the loop's repairs (the model shown its code and failures).", 0...2),
        transform: NumericFlag.number(0...2))
    var repairTemperature = RefineLoop.RetryTemperatures().repair

    @Option(
        help: NumericFlag.help("Sampling temperature of the loop's fresh starts (a new conversation).", 0...2),
        transform: NumericFlag.number(0...2))
    var freshTemperature = RefineLoop.RetryTemperatures().fresh

    @Option(help: "Which retries of the loop are repairs: alternate (every other one) or fresh (none: every retry a new conversation).")
    var retries = RefineLoop.RetryPlan.alternate

    @Option(help: NumericFlag.help("Run only the first n tasks (0: all).", 0...10_000), transform: NumericFlag.integer(0...10_000))
    var limit = 0

    @Option(
        help: NumericFlag.help("Tasks solved at once, each in its own engine slot (seconds per task are then under that load).", 1...16),
        transform: NumericFlag.integer(1...16))
    var jobs = 1

    @Option(help: "How skills are matched with a task: words (TF-IDF), meaning (embeddings) or hybrid (their mean).")
    var scoring = SkillLibrary.Scoring.hybrid

    @Option(help: ArgumentHelp("The embedding model for skill retrieval (default: the one setup installs).", valueName: "path"))
    var embedder: String?

    @Flag(help: "Measure skill retrieval alone, under each scoring (no model is loaded): how often a task is shown an earlier task's solution of its own family.")
    var retrieval = false

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
        let embed = try await Self.loadEmbedder(embedder, needed: retrieval || scoring != .words)
        if retrieval {
            try await Self.measureRetrieval(tasks, embed: embed)
            return
        }
        try Sandbox.standard.check()
        let engine = try await modelOptions.load(slots: jobs)
        let kernel = Kernel(.init(processor: engine))
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("anima-bench-build-" + UUID().uuidString)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let skills = try SkillLibrary(directory: scratch, scoring: scoring, embed: embed)
        var seenFamilies = Set<String>()
        let similar = tasks.map { task in !seenFamilies.insert(task.family).inserted }
        say(
            "build suite: \(tasks.count) tasks (\(similar.filter { $0 }.count) similar to an earlier one), model \(engine.info.name), \(steps) steps × \(tokensPerStep) tokens, retries \(retries.rawValue) at \(repairTemperature) (repair) and \(freshTemperature) (fresh), \(jobs) at a time"
        )
        let solver = Solver(
            kernel: kernel, runner: SandboxTestRunner(base: scratch.appendingPathComponent("runs").path), steps: steps,
            tokensPerStep: tokensPerStep, temperatures: .init(repair: repairTemperature, fresh: freshTemperature), retries: retries,
            verbose: verbose, showCode: showCode)
        var table: [String: [Int: Result]] = [:]
        let (all, flags) = (tasks, similar)
        // First every mode without skills, `jobs` tasks at a time; then the loop with skills,
        // where task i is shown only what the loop passed on tasks before i: the library
        // grows in the suite's order, as it would one task at a time.
        var verified: [Int: String] = [:]
        let plain = Self.modes.filter { chosen.contains($0) && $0 != "loop+skills" }
        if !plain.isEmpty {
            try await Self.inParallel(all.indices, jobs: jobs) { _ in
            } work: { index, _ in
                var results: [String: Result] = [:]
                var code: String?
                for mode in plain {
                    let (result, outcome) = try await solver.solve(all[index], mode: mode, similar: flags[index])
                    results[mode] = result
                    if mode == "loop", result.passed { code = outcome?.code }
                }
                return (results, code)
            } done: { index, finished in
                for (mode, result) in finished.0 { table[mode, default: [:]][index] = result }
                verified[index] = finished.1
            }
        }
        if chosen.contains("loop+skills") {
            try await Self.inParallel(all.indices, jobs: jobs) { index in
                let shown = try await skills.retrieve(all[index].requirement, owner: "bench").map(\.0)
                if let code = verified[index] {
                    try await skills.add(
                        owner: "bench", description: all[index].requirement, module: all[index].module, code: code, tests: [:],
                        provenance: "build suite \(all[index].id)")
                }
                return (shown, table["loop"]?[index])
            } work: { index, prepared in
                let (shown, loop) = prepared
                // Shown no skill, the task is the loop's own: its loop result counts, not a second sample of it.
                if shown.isEmpty, let loop {
                    if solver.verbose { say("  \(all[index].id) loop+skills: no skill close enough, the loop's \(loop.passed ? "pass" : "fail")") }
                    return loop
                }
                let (result, outcome) = try await solver.solve(all[index], mode: "loop+skills", similar: flags[index], skills: shown)
                if outcome?.skillsShown == true {
                    for skill in shown { try await skills.recordUse(skill.id, passed: result.passed) }
                }
                return result
            } done: { index, result in
                table["loop+skills", default: [:]][index] = result
            }
        }
        say(Self.report(table.mapValues { $0.sorted { $0.key < $1.key }.map(\.value) }, order: chosen))
    }

    /// The embedder at `path` (default: setup's) as a skill library's `Embed`.
    static func loadEmbedder(_ path: String?, needed: Bool) async throws -> SkillLibrary.Embed? {
        guard needed else { return nil }
        let file = path ?? AnimaPaths.defaultEmbedder
        guard FileManager.default.fileExists(atPath: file) else {
            throw ValidationError("no embedding model at \(file): run `make setup`, or pass --scoring words")
        }
        let model = try await LlamaEmbedder.load(.init(modelPath: file, threads: 1))
        return { text in try await model.embed([text])[0] }
    }

    /// For each task, the closest solution of an earlier task under each scoring, and at
    /// each threshold: how many tasks are shown a skill, how many of those are of their own
    /// family (precision), and how many of the tasks that have an earlier one of their
    /// family are shown one of it (recall).
    static func measureRetrieval(_ tasks: [BuildTask], embed: SkillLibrary.Embed?) async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("anima-bench-retrieval-" + UUID().uuidString)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let family = Dictionary(tasks.map { ("build suite \($0.id)", $0.family) }, uniquingKeysWith: { a, _ in a })
        var seen = Set<String>()
        let similar = tasks.filter { !seen.insert($0.family).inserted }.count
        say("skill retrieval: \(tasks.count) tasks, \(similar) with an earlier task of their family")
        for scoring in SkillLibrary.Scoring.allCases {
            let library = try SkillLibrary(directory: scratch.appendingPathComponent(scoring.rawValue), scoring: scoring, embed: embed)
            var best: [(score: Double, right: Bool)] = []
            for task in tasks {
                let top = try await library.retrieve(task.requirement, owner: "bench", limit: 1, minimumScore: -1).first
                if let top { best.append((top.1, family[top.0.provenance] == task.family)) }
                try await library.add(
                    owner: "bench", description: task.requirement, module: task.module, code: "", tests: [:],
                    provenance: "build suite \(task.id)")
            }
            let right = best.filter(\.right).map(\.score).sorted()
            let wrong = best.filter { !$0.right }.map(\.score).sorted()
            say(
                "\(scoring.rawValue): closest is of the task's family for \(right.count) of \(best.count) tasks; "
                    + String(format: "its score %.2f–%.2f, otherwise %.2f–%.2f", right.first ?? 0, right.last ?? 0, wrong.first ?? 0, wrong.last ?? 0))
            say("  threshold  shown  precision  recall")
            for step in 4...16 {
                let threshold = Double(step) / 20
                let shown = best.filter { $0.score >= threshold }
                let hits = shown.filter(\.right).count
                say(
                    String(
                        format: "  %.2f       %2d     %5.1f%%     %5.1f%%", threshold, shown.count,
                        shown.isEmpty ? 0 : 100 * Double(hits) / Double(shown.count), 100 * Double(hits) / Double(max(1, similar))))
            }
        }
    }

    /// Runs `work` for each index, at most `jobs` at once. `prepare` runs here, in index
    /// order, just before an index's work starts; `done` runs here as each one finishes.
    static func inParallel<Prepared: Sendable, Output: Sendable>(
        _ indices: Range<Int>, jobs: Int, prepare: (Int) async throws -> Prepared,
        work: @escaping @Sendable (Int, Prepared) async throws -> Output, done: (Int, Output) throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: (Int, Output).self) { group in
            var running = 0
            for index in indices {
                if running == jobs, let (finished, output) = try await group.next() {
                    try done(finished, output)
                    running -= 1
                }
                let prepared = try await prepare(index)
                group.addTask { (index, try await work(index, prepared)) }
                running += 1
            }
            for try await (finished, output) in group { try done(finished, output) }
        }
    }

    /// Solves one task in one mode, as a kernel process whose token quota is the budget.
    struct Solver: Sendable {
        let kernel: Kernel
        let runner: SandboxTestRunner
        let steps: Int
        let tokensPerStep: Int
        let temperatures: RefineLoop.RetryTemperatures
        let retries: RefineLoop.RetryPlan
        let verbose: Bool
        let showCode: Bool

        func solve(_ task: BuildTask, mode: String, similar: Bool, skills shown: [Skill] = []) async throws -> (Result, RefineOutcome?) {
            let budget = RefineLoop.Budget(steps: mode.hasPrefix("one-shot") ? 1 : steps, tokensPerStep: tokensPerStep)
            var refine = RefineLoop(
                requirement: task.requirement, module: task.module, tests: ["test_hidden.py": task.tests], showTests: false,
                skills: shown, budget: budget, runner: runner)
            refine.tidiesCode = mode != "one-shot-bare"
            refine.retryTemperatures = temperatures
            refine.retryPlan = retries
            let loop = refine
            let box = OutcomeBox()
            let pid = try await kernel.spawn(name: "build-\(task.id)", owner: .root, quotas: Quotas(tokens: budget.steps * tokensPerStep)) {
                context in
                box.outcome = try await loop.run(in: context)
                return ""
            }
            let status = try await kernel.wait(pid)
            let outcome = box.outcome
            let result = Result(
                passed: outcome?.passed ?? false, seconds: outcome?.seconds ?? 0, tokens: outcome?.tokens ?? 0, similar: similar)
            if verbose {
                let detail = outcome.map { "\($0.attempts.count) step(s), \($0.report.passed)/\($0.report.total) tests" } ?? "\(status)"
                let note = shown.isEmpty ? "" : ", \(shown.count) skill(s)"
                var lines = [
                    "  \(task.id) \(mode): \(result.passed ? "pass" : "fail") (\(detail), \(String(format: "%.1f", result.seconds)) s\(note))"
                ]
                if let outcome, !result.passed {
                    lines.append("    best: " + outcome.report.firstFailure)
                    if showCode { lines += outcome.code.split(separator: "\n", omittingEmptySubsequences: false).map { "    | " + $0 } }
                }
                say(lines.joined(separator: "\n"))
            }
            return (result, outcome)
        }
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

extension SkillLibrary.Scoring: ExpressibleByArgument {}
extension RefineLoop.RetryPlan: ExpressibleByArgument {}
