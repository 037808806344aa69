import AnimaCore
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
public final class LlamaEngine: LanguageModel {
    public struct Configuration: Sendable, Hashable {
        /// Path of the GGUF file.
        public var modelPath: String
        /// Concurrent generations (sequences in the batch). Default 4.
        public var slots: Int
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

        public init(
            modelPath: String, slots: Int = 4, contextLength: Int? = nil, batchSize: Int = 512,
            threads: Int = ProcessInfo.processInfo.activeProcessorCount, chatTemplate: String? = nil
        ) {
            self.modelPath = modelPath
            self.slots = slots
            self.contextLength = contextLength
            self.batchSize = batchSize
            self.threads = threads
            self.chatTemplate = chatTemplate
        }
    }

    public let info: ModelInfo
    /// The header of the loaded file: architecture, parameters, template, quantisation.
    public let file: GGUFFile
    private let model: LlamaModel
    private let template: ChatTemplate
    private let loop: DecodeLoop
    private let nextID = Atomic<UInt64>(1)

    /// Loads a model on a dedicated thread. `progress` is called with values from 0 to 1.
    public static func load(
        _ configuration: Configuration, progress: (@Sendable (Double) -> Void)? = nil
    ) async throws -> LlamaEngine {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    continuation.resume(returning: try LlamaEngine(configuration, progress: progress))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "anima-load"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Loads a model on the calling thread (blocking). Prefer `load(_:progress:)`.
    public init(_ configuration: Configuration, progress: (@Sendable (Double) -> Void)? = nil) throws(ProcessorError) {
        guard configuration.slots >= 1, configuration.slots <= 256 else {
            throw .invalidRequest("slots must be between 1 and 256, not \(configuration.slots)")
        }
        guard configuration.batchSize >= 1 else { throw .invalidRequest("batch size must be at least 1") }
        guard configuration.threads >= 1 else { throw .invalidRequest("threads must be at least 1") }
        if let n = configuration.contextLength, n < 16 { throw .invalidRequest("context must be at least 16 tokens") }
        model = try LlamaModel(path: configuration.modelPath, progress: progress)
        file = model.file
        let trained = model.trainedContextLength > 0 ? model.trainedContextLength : 4096
        let contextLength = min(configuration.contextLength ?? min(trained, 4096), max(trained, 16))
        if let source = configuration.chatTemplate {
            template = try ChatTemplate(source: source, modelName: model.name)
        } else if let source = model.builtInChatTemplate {
            template = try ChatTemplate(source: source, modelName: model.name)
        } else {
            throw .missingChatTemplate(model: model.name)
        }
        loop = try DecodeLoop(
            model: model, slots: configuration.slots, contextLength: contextLength,
            batchSize: configuration.batchSize, threads: configuration.threads)
        info = ModelInfo(name: model.name, contextLength: contextLength)
    }

    deinit { loop.shutdown() }

    /// Fails every generation in progress and stops the decode thread.
    public func shutdown() { loop.shutdown() }

    public var statistics: EngineStatistics { loop.statistics.withLock { $0 } }

    public func countTokens(text: String) async throws -> Int {
        model.tokenize(text, addSpecial: false, parseSpecial: false).count
    }

    public func countTokens(_ request: GenerationRequest) async throws -> Int {
        try promptTokens(request).count
    }

    /// The prompt's tokens: markup with special tokens, content without.
    func promptTokens(_ request: GenerationRequest) throws(ProcessorError) -> [llama_token] {
        guard !request.messages.isEmpty else { throw .invalidRequest("there are no messages") }
        let segments = try template.segments(ToolCallFormat.messages(for: request))
        var tokens: [llama_token] = []
        for (i, segment) in segments.enumerated() {
            tokens += model.tokenize(segment.text, addSpecial: i == 0, parseSpecial: segment.isMarkup)
        }
        return tokens
    }

    public func generate(_ request: GenerationRequest) -> AsyncThrowingStream<GenerationEvent, any Error> {
        start(request).events
    }

    /// Starts a generation and returns a handle that can also suspend and resume it.
    public func start(_ request: GenerationRequest) -> Generation {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let (stream, continuation) = AsyncThrowingStream<GenerationEvent, any Error>.makeStream()
        let generation = Generation(id: id, events: stream, loop: loop)
        do {
            let job = try makeJob(id: id, request: request, continuation: continuation)
            continuation.onTermination = { [loop] termination in
                if case .cancelled = termination { loop.send(.cancel(id)) }
            }
            loop.submit(job)
        } catch {
            continuation.finish(throwing: error)
        }
        return generation
    }

    private func makeJob(
        id: UInt64, request: GenerationRequest, continuation: AsyncThrowingStream<GenerationEvent, any Error>.Continuation
    ) throws(ProcessorError) -> Job {
        if let problem = request.sampling.problem { throw .invalidRequest(problem) }
        let prompt = try promptTokens(request)
        guard prompt.count < loop.contextLength else {
            throw .promptTooLong(tokens: prompt.count, limit: loop.contextLength)
        }
        let grammar = try ToolCallFormat.grammar(for: request)
        let sampler = try makeSampler(request.sampling, grammar: grammar)
        let offered = !ToolCallFormat.offeredTools(request).isEmpty
        var schema: JSONSchema?
        if case .jsonSchema(let s) = request.responseFormat { schema = s }
        return Job(
            id: id, prompt: prompt, sampler: sampler,
            maxTokens: request.sampling.maxTokens ?? loop.contextLength,
            ignoreEndOfTurn: request.sampling.ignoreEndOfTurn, schema: schema,
            assembler: OutputAssembler(stops: request.sampling.stop, parsesToolCalls: offered),
            continuation: continuation)
    }

    private func makeSampler(
        _ p: SamplingParameters, grammar: (text: String, lazy: Bool)?
    ) throws(ProcessorError) -> UnsafeMutablePointer<llama_sampler> {
        let chain = llama_sampler_chain_init(llama_sampler_chain_default_params())!
        if let grammar {
            let sampler: UnsafeMutablePointer<llama_sampler>? = LlamaRuntime.capturingErrors {
                if grammar.lazy {
                    let pattern = strdup(ToolCallFormat.triggerPattern)
                    defer { free(pattern) }
                    var patterns: [UnsafePointer<CChar>?] = [UnsafePointer(pattern)]
                    return llama_sampler_init_grammar_lazy_patterns(model.vocab, grammar.text, "root", &patterns, 1, nil, 0)
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
            llama_sampler_chain_add(chain, llama_sampler_init_penalties(model.vocabularySize, Int32(p.repeatLastN), Float(p.repeatPenalty), 0, 0))
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

/// A generation in progress: its events, and control over its place on the processor.
public final class Generation: Sendable {
    public let id: UInt64
    /// The generation's events; cancelling the task that reads them stops it.
    public let events: AsyncThrowingStream<GenerationEvent, any Error>
    private let loop: DecodeLoop

    init(id: UInt64, events: AsyncThrowingStream<GenerationEvent, any Error>, loop: DecodeLoop) {
        self.id = id
        self.events = events
        self.loop = loop
    }

    /// Pauses at the next token boundary: saves the sequence's KV state and frees its slot.
    /// The event stream stays open and continues after `resume()`.
    @discardableResult
    public func suspend() async throws -> SuspendedState {
        try await withCheckedThrowingContinuation { loop.send(.suspend(id, $0)) }
    }

    /// Restores the saved state into the first free slot and continues; returns that slot.
    @discardableResult
    public func resume() async throws -> Int {
        try await withCheckedThrowingContinuation { loop.send(.resume(id, $0)) }
    }
}
