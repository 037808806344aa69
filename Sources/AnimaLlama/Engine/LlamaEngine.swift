import AnimaCore
import AnimaProcessor
import CLlama
import Foundation
import Synchronization

/// The local processor: a GGUF chat model on llama.cpp, serving many generations at once
/// from one continuous batch.
///
/// Loading and decoding run on dedicated threads, never on Swift's cooperative pool.
/// Each generation occupies one of `slots` sequences while it runs; more requests than
/// slots wait their turn. A running generation can be suspended (its KV state saved,
/// its slot freed) and resumed later in any free slot without reading its prompt again.
public final class LlamaEngine: TimeSharedModel, TunableEngine {
    public struct Configuration: Sendable {
        /// Path of the GGUF file.
        public var modelPath: String
        /// Concurrent generations (sequences in the batch). Default 4.
        public var slots: Int
        /// Generations decoding at once when the engine starts (`EngineSettings.activeSlots`),
        /// at most `slots`; nil: `slots`. Fewer leave the kernel's tuner room to raise it
        /// (`KernelTuner.slotCapacity`).
        public var activeSlots: Int?
        /// Tokens one generation may hold, prompt and answer. Default: the model's
        /// trained context, at most 4096.
        public var contextLength: Int?
        /// Most tokens per decode step, besides one per running sequence. Default 512.
        public var batchSize: Int
        /// CPU threads for decoding. Default: every core.
        public var threads: Int
        /// A llama.cpp built-in template name (such as `chatml`) to use instead of the
        /// model's own.
        public var chatTemplate: String?
        /// Decides who holds the slots when more generations want them: the kernel's
        /// `Scheduler` (pass `Scheduler()` for first come, first served).
        public var scheduler: any SlotScheduler
        /// Extra llama.cpp sequences, beyond one per slot, that keep the KV cache of
        /// shared system prompts. Default 1.
        public var sharedPrefixSequences: Int
        /// Saved KV states kept in memory before the least recently run go to disk.
        public var swapMemoryLimit: Int
        /// Where swapped KV states go. Default: the system's temporary directory.
        public var swapDirectory: URL
        /// Layers for the GPUs (llama.cpp's `n_gpu_layers`): nil as many as fit in their free
        /// memory with their KV cache, 0 none; never more than fit. Without a GPU, none.
        public var gpuLayers: Int?

        public init(
            modelPath: String, slots: Int = 4, contextLength: Int? = nil, batchSize: Int = 512,
            threads: Int = ProcessInfo.processInfo.activeProcessorCount, chatTemplate: String? = nil,
            scheduler: any SlotScheduler, sharedPrefixSequences: Int = 1, swapMemoryLimit: Int = 512 << 20,
            swapDirectory: URL = FileManager.default.temporaryDirectory.appendingPathComponent("anima-swap")
        ) {
            self.modelPath = modelPath
            self.slots = slots
            self.contextLength = contextLength
            self.batchSize = batchSize
            self.threads = threads
            self.chatTemplate = chatTemplate
            self.scheduler = scheduler
            self.sharedPrefixSequences = sharedPrefixSequences
            self.swapMemoryLimit = swapMemoryLimit
            self.swapDirectory = swapDirectory
        }
    }

    public let info: ModelInfo
    /// The header of the loaded file: architecture, parameters, template, quantisation.
    public let file: GGUFFile
    let model: LlamaModel
    let template: ChatTemplate
    /// How this model's family writes tool calls, read from its chat template.
    public let toolCallSyntax: ToolCallSyntax
    private let loop: DecodeLoop
    private let nextID = Atomic<UInt64>(1)

    /// Loads a model on a dedicated thread. `progress` is called with values from 0 to 1.
    public static func load(
        _ configuration: Configuration, progress: (@Sendable (Double) -> Void)? = nil
    ) async throws -> LlamaEngine {
        try await DedicatedThread.offload(name: "anima-load", stackSize: 8 << 20) { () throws(ProcessorError) -> LlamaEngine in
            try LlamaEngine(configuration, progress: progress)
        }
    }

    /// Sequences llama.cpp holds in one context (its LLAMA_MAX_SEQ).
    public static let maxSequences = 256
    /// The most slots with the default one shared-prefix sequence: what `--slots` accepts.
    public static let maxSlots = maxSequences - 1

    /// The CPU code llama.cpp chose for this machine; nil until a model has loaded.
    public static var cpuBackend: CPUBackend? { LlamaRuntime.cpuBackend }

    /// Where the model's layers are: on GPUs, as many as fit, or all on the CPU.
    public var offload: OffloadPlan { model.offload }

    /// Loads a model on the calling thread (blocking). Prefer `load(_:progress:)`.
    public init(_ configuration: Configuration, progress: (@Sendable (Double) -> Void)? = nil) throws(ProcessorError) {
        guard configuration.slots >= 1, configuration.slots + max(configuration.sharedPrefixSequences, 0) <= Self.maxSequences else {
            throw .invalidRequest(
                "slots must be between 1 and \(Self.maxSequences - max(configuration.sharedPrefixSequences, 0)) "
                    + "(llama.cpp holds \(Self.maxSequences) sequences, \(configuration.sharedPrefixSequences) for shared prefixes), not \(configuration.slots)"
            )
        }
        guard configuration.batchSize >= 1 else { throw .invalidRequest("batch size must be at least 1") }
        guard configuration.threads >= 1 else { throw .invalidRequest("threads must be at least 1") }
        guard configuration.sharedPrefixSequences >= 0, configuration.swapMemoryLimit >= 0 else {
            throw .invalidRequest("shared prefix sequences and the swap memory limit cannot be negative")
        }
        if let n = configuration.activeSlots, !(1...configuration.slots).contains(n) {
            throw .invalidRequest("active slots must be between 1 and the \(configuration.slots) slots, not \(n)")
        }
        if let n = configuration.contextLength, n < 16 { throw .invalidRequest("context must be at least 16 tokens") }
        if let n = configuration.gpuLayers, n < 0 { throw .invalidRequest("GPU layers cannot be negative (0: none; leave it out: as many as fit)") }
        model = try LlamaModel(
            path: configuration.modelPath, progress: progress, generating: true,
            placement: .init(
                sequences: configuration.slots + configuration.sharedPrefixSequences, contextLength: configuration.contextLength,
                gpuLayers: configuration.gpuLayers))
        file = model.file
        let trained = model.trainedContextLength > 0 ? model.trainedContextLength : 4096
        if let asked = configuration.contextLength, asked > max(trained, 16) {
            // Capping it quietly would leave the user believing they had the context they asked for.
            throw .invalidRequest("context \(asked) is more than \(model.name) was trained for; ask for at most \(max(trained, 16)) tokens")
        }
        let contextLength = configuration.contextLength ?? min(trained, 4096)
        if let source = configuration.chatTemplate {
            template = try ChatTemplate(source: source, modelName: model.name)
        } else if let source = model.builtInChatTemplate {
            template = try ChatTemplate(source: source, modelName: model.name)
        } else {
            throw .missingChatTemplate(model: model.name)
        }
        toolCallSyntax = ToolCallSyntax(template: template.source)
        loop = try DecodeLoop(
            model: model,
            options: .init(
                slots: configuration.slots, activeSlots: configuration.activeSlots ?? configuration.slots,
                contextLength: contextLength, batchSize: configuration.batchSize,
                threads: configuration.threads, scheduler: configuration.scheduler,
                sharedPrefixSequences: configuration.sharedPrefixSequences, swapMemoryLimit: configuration.swapMemoryLimit,
                swapDirectory: configuration.swapDirectory))
        info = ModelInfo(name: model.name, contextLength: contextLength, toolCallSyntax: toolCallSyntax)
    }

    deinit { loop.shutdown() }

    /// Fails every generation in progress and stops the decode thread.
    public func shutdown() { loop.shutdown() }

    public var statistics: EngineStatistics { loop.statistics.withLock { $0 } }

    public var slotCount: Int { loop.slots }

    public var settings: EngineSettings { loop.settings.withLock { $0 } }
    public var settingLimits: EngineSettingLimits { loop.settingLimits }
    public func apply(_ settings: EngineSettings) { loop.send(.apply(settings)) }

    public func countTokens(text: String) async throws -> Int {
        model.tokenize(text, addSpecial: false, parseSpecial: false).count
    }

    public func countTokens(_ request: GenerationRequest) async throws -> Int {
        try prompt(request).tokens.count
    }

    func promptTokens(_ request: GenerationRequest) throws(ProcessorError) -> [llama_token] {
        try prompt(request).tokens
    }

    /// The prompt's tokens (markup with special tokens, content without), and how many
    /// of them a system message makes, which other prompts may share.
    func prompt(_ request: GenerationRequest) throws(ProcessorError) -> (tokens: [llama_token], sharedPrefix: Int) {
        if let raw = request.rawPrompt {
            // Raw text is untrusted like any content: special tokens stay text.
            let tokens = model.tokenize(raw, addSpecial: true, parseSpecial: false)
            guard !tokens.isEmpty else { throw .invalidRequest("the prompt is empty") }
            return (tokens, 0)
        }
        guard !request.messages.isEmpty else { throw .invalidRequest("there are no messages") }
        let messages = ToolCallFormat.messages(for: request, syntax: toolCallSyntax)
        let segments = try template.segments(messages)
        var tokens: [llama_token] = []
        var sharedPrefix = 0
        var contentSeen = 0
        for (i, segment) in segments.enumerated() {
            tokens += model.tokenize(segment.text, addSpecial: i == 0, parseSpecial: segment.isMarkup)
            if !segment.isMarkup {
                contentSeen += 1
                if contentSeen == 1, messages.first?.role == "system", messages.count > 1 { sharedPrefix = tokens.count }
            }
        }
        return (tokens, sharedPrefix >= Self.minimumSharedPrefix ? sharedPrefix : 0)
    }

    /// Shorter system prompts are cheaper to read again than to copy.
    static let minimumSharedPrefix = 32

    public func generate(_ request: GenerationRequest) -> AsyncThrowingStream<GenerationEvent, any Error> {
        start(request).events
    }

    /// Starts a generation and returns a handle that can also suspend and resume it.
    public func start(_ request: GenerationRequest, priority: Int) -> any GenerationControl {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let (stream, continuation) = AsyncThrowingStream<GenerationEvent, any Error>.makeStream()
        let generation = Generation(id: id, events: stream, loop: loop)
        do {
            let job = try makeJob(id: id, priority: priority, request: request, continuation: continuation)
            continuation.onTermination = { [loop] termination in
                if case .cancelled = termination { loop.send(.cancel(id, nil)) }
            }
            loop.submit(job)
        } catch {
            continuation.finish(throwing: error)
        }
        return generation
    }

    private func makeJob(
        id: UInt64, priority: Int, request: GenerationRequest,
        continuation: AsyncThrowingStream<GenerationEvent, any Error>.Continuation
    ) throws(ProcessorError) -> Job {
        if let problem = request.sampling.problem { throw .invalidRequest(problem) }
        let (prompt, sharedPrefix) = try self.prompt(request)
        guard prompt.count < loop.contextLength else {
            throw .promptTooLong(tokens: prompt.count, limit: loop.contextLength)
        }
        let grammar = try ToolCallFormat.grammar(for: request, syntax: toolCallSyntax)
        let sampler = try makeSampler(request.sampling, grammar: grammar)
        let offeredTools = ToolCallFormat.offeredTools(request)
        let offered = !offeredTools.isEmpty
        var schema: JSONSchema?
        if case .jsonSchema(let s) = request.responseFormat { schema = s }
        let job = Job(
            id: id, priority: priority, prompt: prompt, sharedPrefix: sharedPrefix, sampler: sampler,
            constrained: grammar != nil, structured: request.responseFormat != .text,
            maxTokens: request.sampling.maxTokens ?? loop.contextLength,
            ignoreEndOfTurn: request.sampling.ignoreEndOfTurn, schema: schema,
            assembler: OutputAssembler(
                stops: request.sampling.stop, parsesToolCalls: offered, toolNames: Set(offeredTools.map(\.name)),
                callsOnlyAtStart: grammar != nil && request.toolConstraint == .wholeAnswer),
            continuation: continuation)
        job.owner = request.cacheOwner
        if request.wholeAnswer { job.held = [] }
        return job
    }

    /// Whether llama.cpp accepts `grammar`; throws its complaint when it does not.
    func grammarSamplerCompiles(_ grammar: ToolCallFormat.Grammar) throws(ProcessorError) -> Bool {
        llama_sampler_free(try makeSampler(.greedy(), grammar: grammar))
        return true
    }

    private func makeSampler(
        _ p: SamplingParameters, grammar: ToolCallFormat.Grammar?
    ) throws(ProcessorError) -> UnsafeMutablePointer<llama_sampler> {
        let chain = llama_sampler_chain_init(llama_sampler_chain_default_params())!
        if let grammar {
            let sampler: UnsafeMutablePointer<llama_sampler>? = LlamaRuntime.capturingErrors {
                if grammar.lazy {
                    let copies = grammar.triggers.map { strdup($0) }
                    defer { copies.forEach { free($0) } }
                    var patterns = copies.map { UnsafePointer($0) }
                    return llama_sampler_init_grammar_lazy_patterns(model.vocab, grammar.text, "root", &patterns, patterns.count, nil, 0)
                }
                return llama_sampler_init_grammar(model.vocab, grammar.text, "root")
            }
            guard let sampler else {
                llama_sampler_free(chain)
                throw .engineFailure("llama.cpp rejected the generated grammar: \(LlamaRuntime.lastErrors() ?? "unknown error")")
            }
            llama_sampler_chain_add(chain, sampler)
        }
        if p.ignoreEndOfTurn {
            let biases = model.endOfGenerationTokens.map { llama_logit_bias(token: $0, bias: -.infinity) }
            llama_sampler_chain_add(chain, llama_sampler_init_logit_bias(model.vocabularySize, Int32(biases.count), biases))
        }
        if p.repeatPenalty != 1 {
            llama_sampler_chain_add(
                chain, llama_sampler_init_penalties(model.vocabularySize, Int32(p.repeatLastN), Float(p.repeatPenalty), 0, 0))
        }
        if p.temperature == 0 {
            llama_sampler_chain_add(chain, llama_sampler_init_greedy())
        } else {
            if p.topK > 0 { llama_sampler_chain_add(chain, llama_sampler_init_top_k(Int32(p.topK))) }
            llama_sampler_chain_add(chain, llama_sampler_init_top_p(Float(p.topP), 1))
            if p.minP > 0 { llama_sampler_chain_add(chain, llama_sampler_init_min_p(Float(p.minP), 1)) }
            llama_sampler_chain_add(chain, llama_sampler_init_temp(Float(p.temperature)))
            llama_sampler_chain_add(chain, llama_sampler_init_dist(p.seed))
        }
        return chain
    }
}

/// A generation in progress on a `LlamaEngine`.
public final class Generation: GenerationControl {
    public let id: UInt64
    public let events: AsyncThrowingStream<GenerationEvent, any Error>
    private let loop: DecodeLoop

    init(id: UInt64, events: AsyncThrowingStream<GenerationEvent, any Error>, loop: DecodeLoop) {
        self.id = id
        self.events = events
        self.loop = loop
    }

    public var slot: Int? { loop.slot(of: id) }

    @discardableResult
    public func suspend() async throws -> SuspendedState {
        try await withCheckedThrowingContinuation { loop.send(.suspend(id, $0)) }
    }

    @discardableResult
    public func resume() async throws -> Int {
        try await withCheckedThrowingContinuation { loop.send(.resume(id, $0)) }
    }

    public func setPriority(_ priority: Int) {
        loop.send(.setPriority(id, priority))
    }

    public func cancel() async {
        await withCheckedContinuation { loop.send(.cancel(id, $0)) }
    }
}
