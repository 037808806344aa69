import AnimaCore
import AnimaKernel
import AnimaLlama
import AnimaProcessor
import ArgumentParser
import Foundation

/// Which model to load and how to run it.
package struct ModelOptions: ParsableArguments {
    package init() {}

    @Option(
        name: .shortAndLong, help: ArgumentHelp("GGUF model file (default: $ANIMA_MODEL, else the embedded SmolLM2).", valueName: "path"))
    package var model: String?

    @Option(
        help: NumericFlag.help(
            "Tokens per conversation, prompt and answer (default: the model's, at most 4096).", 16...1_048_576, valueName: "tokens"),
        transform: NumericFlag.integer(16...1_048_576))
    package var context: Int?

    @Option(
        help: NumericFlag.help("CPU threads for inference (default: all cores).", 1...4096, valueName: "n"),
        transform: NumericFlag.integer(1...4096))
    package var threads: Int?

    @Option(help: ArgumentHelp("Use this llama.cpp built-in chat template (e.g. chatml) instead of the model's.", valueName: "name"))
    package var chatTemplate: String?

    package static let gpuLayersHelp = NumericFlag.help(
        "Model layers to put on GPUs (default: as many as fit in their free memory; 0: none). Without a GPU every layer runs on the CPU.",
        0...100_000, valueName: "n")

    @Option(help: ModelOptions.gpuLayersHelp, transform: NumericFlag.integer(0...100_000))
    package var gpuLayers: Int?

    package var path: String { model.map(ModelDefaults.resolve) ?? AnimaPaths.defaultModel }

    /// The model to load for `agent`: --model (a path, a file in the model folder or a
    /// catalogue name), else the saved choices of `anima models default`.
    package func path(agent: String?) throws -> String {
        if let model { return ModelDefaults.resolve(model) }
        return try ModelDefaults.model(agent: agent)
    }

    /// Loads the engine, showing progress on a terminal; `scheduler` is the kernel's. With
    /// `tuned`, the engine gets room for the kernel's tuner to raise its active slots
    /// (`KernelTuner.slots(active:limit:)`), `slots` of them active at first.
    package func load(slots: Int = 1, scheduler: Scheduler = Scheduler(), agent: String? = nil, tuned: Bool = false) async throws -> LlamaEngine {
        try await Self.loadEngine(
            path: try path(agent: agent), context: context, threads: threads, chatTemplate: chatTemplate, slots: slots, scheduler: scheduler,
            gpuLayers: gpuLayers, tuned: tuned)
    }

    package static func loadEngine(
        path: String, context: Int?, threads: Int? = nil, chatTemplate: String? = nil, slots: Int, scheduler: Scheduler,
        gpuLayers: Int? = nil, tuned: Bool = false
    ) async throws -> LlamaEngine {
        var configuration = LlamaEngine.Configuration(
            modelPath: path, slots: tuned ? KernelTuner.slots(active: slots, limit: LlamaEngine.maxSlots) : slots, contextLength: context,
            scheduler: scheduler)
        if tuned { configuration.activeSlots = slots }
        configuration.gpuLayers = gpuLayers
        if let threads { configuration.threads = threads }
        configuration.chatTemplate = chatTemplate
        let name = URL(fileURLWithPath: path).lastPathComponent
        let progress = Terminal.isInteractive(fd: 2) ? LoadProgress(name: name) : nil
        defer { progress?.done() }
        var report: (@Sendable (Double) -> Void)?
        if let progress { report = { progress.update($0) } }
        return try await LlamaEngine.load(configuration, progress: report)
    }
}

/// Sampling flags shared by the commands that generate.
package struct SamplingOptions: ParsableArguments {
    package init() {}

    @Option(help: NumericFlag.help("Randomness; 0 is greedy and deterministic.", 0...100), transform: NumericFlag.number(0...100))
    package var temperature: Double = 0.7
    @Option(
        help: NumericFlag.help("Nucleus sampling: keep the most likely tokens up to this probability mass.", 0...1),
        transform: NumericFlag.number(0...1))
    package var topP: Double = 0.95
    @Option(
        help: NumericFlag.help("Keep only the k most likely tokens (0: off).", 0...1_000_000), transform: NumericFlag.integer(0...1_000_000)
    )
    package var topK: Int = 40
    @Option(
        help: NumericFlag.help("Drop tokens less likely than this fraction of the most likely one.", 0...1),
        transform: NumericFlag.number(0...1))
    package var minP: Double = 0.05
    @Option(help: NumericFlag.help("Penalty for repeating recent tokens (1: off).", 0...100), transform: NumericFlag.number(0...100))
    package var repeatPenalty: Double = 1.1
    @Option(help: NumericFlag.help("Random seed, for repeatable sampling.", 0...UInt32.max), transform: NumericFlag.integer(0...UInt32.max))
    package var seed: UInt32 = 0
    @Option(help: NumericFlag.help("Most tokens to generate.", 1...100_000_000), transform: NumericFlag.integer(1...100_000_000))
    package var maxTokens: Int?
    @Option(help: ArgumentHelp("Stop when this text appears (repeatable).", valueName: "text"))
    package var stop: [String] = []

    package var parameters: SamplingParameters {
        SamplingParameters(
            temperature: temperature, topP: topP, topK: topK, minP: minP, repeatPenalty: repeatPenalty,
            seed: seed, maxTokens: maxTokens, stop: stop)
    }

    package func validate() throws {
        if let problem = parameters.problem { throw ValidationError(problem) }
    }
}
