import AnimaCommandSupport
import AnimaProcessor
import AnimaTesting
import ArgumentParser
import Foundation

/// `anima-bench serve --scripted`: the daemon of `anima serve`, every flag the same, on a
/// scripted echo model, for load tests of the HTTP layer and the kernel without a model.
struct ScriptedServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the Anima daemon on a scripted echo model (for load tests).",
        discussion: """
            The same daemon and flags as `anima serve`. The model answers "You said: "
            and the last message, one word per step, on the configured slots and
            policy.

            Examples:
              anima-bench serve --scripted --port 0
              anima-bench serve --scripted --scripted-delay-ms 20 --slots 1 --policy fifo
            """
    )

    @OptionGroup var options: DaemonOptions
    @Option(help: "Agents follow this script instead of echoing (see anima-bench run --help).") var script: String?
    @Flag(help: "Serve the scripted echo model (required: the only model anima-bench serves).") var scripted = false
    @Option(
        help: NumericFlag.help("Milliseconds the scripted model spends on each token.", 0...60_000),
        transform: NumericFlag.integer(0...60_000)) var scriptedDelayMs = 0

    @Option(
        help: ArgumentHelp(
            "Serve the obedient model of the action-integrity suite in this directory instead of the echo (see anima-bench integrity).",
            valueName: "suite-dir")) var obedient: String?

    func validate() throws {
        guard scripted else {
            throw ValidationError(
                "anima-bench serve serves only the scripted echo model: add --scripted (to serve a real model, run anima serve)")
        }
    }

    mutating func run() async throws {
        let c = try options.configuration(scripted: true)
        let steps = try script.map { try ScriptedSteps(file: $0) }
        let echo: @Sendable (GenerationRequest) -> ScriptedModel.Reply = { request in
            // Agents follow the script; chat completions still echo.
            if let steps, request.messages.contains(where: { $0.role == .system }) || !request.tools.isEmpty, steps.applies(to: request) {
                return steps.reply(request)
            }
            return .text("You said: " + (request.rawPrompt ?? request.messages.last?.content ?? ""))
        }
        let responder = try obedient.map { IntegritySuite.obedient(suite: try IntegritySuite.Loaded(directory: $0)) } ?? echo
        let model = ScriptedProcessor(
            slots: c.slots, scheduler: DaemonOptions.scheduler(c), name: "scripted", contextLength: obedient == nil ? 4096 : 1 << 22,
            logsService: false, responder: responder)
        let delay = scriptedDelayMs
        var pause: (@Sendable () async -> Void)?
        if delay > 0 { pause = { try? await Task.sleep(for: .milliseconds(delay)) } }
        model.startStepping(onStep: pause)
        if c.embeddingModel != nil {
            // The scripted daemon has no embedding model; asking for one is a mistake to report.
            throw ProcessorError.modelNotFound(path: c.embeddingModel ?? "")
        }
        try await DaemonOptions.serve(
            c, processor: try ConfiguredProcessor.processor(scripted: model), engine: nil, embedder: nil, mcpFile: options.mcpConfig)
    }
}
