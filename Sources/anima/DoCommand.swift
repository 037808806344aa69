import AnimaAutomation
import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaTools
import ArgumentParser
import Foundation

struct Do: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "do",
        abstract: "Carry out a goal end to end: plan subtasks, run specialists, test and refine code.",
        discussion: """
            An orchestrator process plans a task graph (subtasks for a coder, tester,
            researcher or writer, with their dependencies), writes acceptance tests for
            each coding subtask before any code exists, and runs the subtasks as child
            processes with only the groups they need, in parallel where the graph allows.
            A coder writes code, runs the tests in the sandbox, reads the failures and
            revises until they pass or its budget ends. A failed subtask is retried with a
            reflection on why it failed, then the goal is re-planned once, then the failure
            is reported with what was tried. Code that passed its tests is kept as a skill
            that later similar tasks reuse (`anima skills`).

            Progress goes to standard error; the result (JSON with each final subtask's
            output) to standard output. `anima tasks show ID` shows a task afterwards,
            `anima ps --tree` while it runs.

            Examples:
              anima do "Write a Python function slugify(text) that lowercases and joins words with -"
              anima do --steps 6 --model qwen2.5-coder-0.5b "Parse key=value lines into a dict"
            """
    )

    @Argument(help: "The goal, in your words. Use - to read it from standard input.")
    var goal: String

    @Option(
        help: NumericFlag.help("Model calls each coder may make (generate, then refine).", 1...50), transform: NumericFlag.integer(1...50))
    var steps = 4

    @Option(help: NumericFlag.help("Tokens per model call.", 16...8192), transform: NumericFlag.integer(16...8192))
    var tokensPerStep = 512

    @Option(help: NumericFlag.help("Runs of a failing subtask (the first and its retries).", 1...5), transform: NumericFlag.integer(1...5))
    var attempts = 2

    @Option(help: NumericFlag.help("Fresh plans after the first fails.", 0...3), transform: NumericFlag.integer(0...3))
    var replans = 1

    @Option(
        help: NumericFlag.help("Wall-time quota of each subtask, in seconds.", 1...86_400), transform: NumericFlag.number(1...86_400))
    var maxSeconds: Double = 600

    @Flag(help: "Do not offer skills kept from earlier tasks, and keep none from this one.")
    var noSkills = false

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataLocation: MemoryLocation

    mutating func run() async throws {
        let text = goal == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : goal
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw ValidationError("the goal is empty") }
        try Sandbox.standard.check()
        let engine = try await modelOptions.load()
        let directory = dataLocation.directory
        let kernel = Kernel(try .standard(processor: engine, dataDirectory: directory.path))
        let procfs = Task { await ProcFS().serve(kernel, engine: engine, policy: "anima do", placement: engine.offload.summary) }
        defer { procfs.cancel() }
        let tokens = steps * tokensPerStep * 3 + 2048
        let options = Orchestrator.Options(
            attempts: attempts, replans: replans, refine: .init(steps: steps, tokensPerStep: tokensPerStep),
            nodeQuotas: Quotas(tokens: tokens, wallTime: .milliseconds(Int(maxSeconds * 1000))), quotas: Quotas(tokens: 4 * tokens),
            maxTokensPerStep: tokensPerStep)
        // Kept skills and those of installed skill packages (each package verified first).
        // Skills are found by meaning with the embedding model setup installs, by words without it.
        let skills = noSkills ? nil : try SkillLibrary(directory: directory, embedder: try await MemoryLocation.installedEmbedder())
        if let skills { try await PackagedSkills.offer(to: skills, dataDirectory: directory) }
        let orchestrator = Orchestrator(
            kernel: kernel, store: try TaskStore(directory: directory), skills: skills,
            runner: SandboxTestRunner(), options: options, onEvent: { Terminal.error("\($0)\n") })
        do {
            let (task, answer) = try await orchestrator.run(goal: text, owner: CurrentUser.principal)
            print(answer)
            Terminal.error("rate it: anima tasks rate \(task) up|down\n")
        } catch let error as TaskRunError {
            Terminal.error("\(error)\nsee: anima tasks show \(error.task)\n")
            throw ExitCode(1)
        }
    }
}
