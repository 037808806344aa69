import AnimaCore
import AnimaProcessor
import CLlama
import Foundation

/// A local embedding model on llama.cpp (a BERT-style encoder such as all-MiniLM-L6-v2
/// in GGUF), with mean pooling as the file specifies and unit-length output.
///
/// Encoding runs on a dedicated thread, never on Swift's cooperative pool. Requests that
/// arrive while it is busy are gathered and encoded together: many sequences share one
/// `llama_encode` call, up to `batchTokens` tokens and `maxSequences` sequences.
public final class LlamaEmbedder: EmbeddingModel {
    public struct Configuration: Sendable, Hashable {
        /// Path of the GGUF file.
        public var modelPath: String
        /// Most tokens per encode call (every sequence must fit in one). Default 512.
        public var batchTokens: Int
        /// Most sequences per encode call. Default 64.
        public var maxSequences: Int
        /// CPU threads. Default: every core.
        public var threads: Int

        public init(
            modelPath: String, batchTokens: Int = 512, maxSequences: Int = 64,
            threads: Int = ProcessInfo.processInfo.activeProcessorCount
        ) {
            self.modelPath = modelPath
            self.batchTokens = batchTokens
            self.maxSequences = maxSequences
            self.threads = threads
        }
    }

    public let name: String
    public let dimensions: Int
    /// Tokens one text may hold; longer texts are truncated to it.
    public let maximumTokens: Int
    private let worker: Worker

    /// Loads the model on a dedicated thread.
    public static func load(_ configuration: Configuration) async throws -> LlamaEmbedder {
        try await DedicatedThread.offload(name: "anima-embed-load", stackSize: 8 << 20) { () throws(ProcessorError) -> LlamaEmbedder in
            try LlamaEmbedder(configuration)
        }
    }

    /// Loads the model on the calling thread (blocking). Prefer `load(_:)`.
    public init(_ configuration: Configuration) throws(ProcessorError) {
        guard FileManager.default.fileExists(atPath: configuration.modelPath) else {
            throw .modelNotFound(path: configuration.modelPath)
        }
        guard configuration.batchTokens >= 8 else { throw .invalidRequest("batch tokens must be at least 8") }
        guard (1...256).contains(configuration.maxSequences) else {
            throw .invalidRequest("max sequences must be between 1 and 256, not \(configuration.maxSequences)")
        }
        guard configuration.threads >= 1 else { throw .invalidRequest("threads must be at least 1") }
        let model = try LlamaModel(path: configuration.modelPath, progress: nil)
        var params = llama_context_default_params()
        params.n_ctx = UInt32(configuration.batchTokens)
        params.n_batch = UInt32(configuration.batchTokens)
        // A non-causal encoder must see each whole sequence in one micro-batch.
        params.n_ubatch = UInt32(configuration.batchTokens)
        params.n_seq_max = UInt32(configuration.maxSequences)
        params.n_threads = Int32(configuration.threads)
        params.n_threads_batch = Int32(configuration.threads)
        params.embeddings = true
        params.kv_unified = true
        params.no_perf = true
        let context = LlamaRuntime.capturingErrors { llama_init_from_model(model.pointer, params) }
        guard let context else {
            throw .engineFailure("could not create an embedding context: " + (LlamaRuntime.lastErrors() ?? "out of memory?"))
        }
        let pooling = llama_pooling_type(context)
        guard pooling != LLAMA_POOLING_TYPE_NONE, pooling != LLAMA_POOLING_TYPE_RANK else {
            llama_free(context)
            throw .invalidModelFile(
                path: configuration.modelPath, reason: "it does not pool token vectors into one sentence vector; use an embedding model")
        }
        name = model.name
        dimensions = Int(llama_model_n_embd_out(model.pointer))
        let trained = model.trainedContextLength > 0 ? model.trainedContextLength : configuration.batchTokens
        maximumTokens = min(trained, configuration.batchTokens)
        worker = Worker(
            model: model, context: context, dimensions: dimensions, batchTokens: configuration.batchTokens,
            maxSequences: configuration.maxSequences, maximumTokens: maximumTokens)
    }

    deinit { worker.shutdown() }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        guard !texts.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            worker.submit(Worker.Job(texts: texts, continuation: continuation))
        }
    }

    /// The number of tokens `text` costs, with the special tokens the encoder adds.
    public func countTokens(_ text: String) -> Int {
        worker.model.tokenize(text, addSpecial: true, parseSpecial: false).count
    }

    public func tokenCount(of text: String) -> Int? { countTokens(text) }

    /// The encoding thread and everything it owns.
    private final class Worker: @unchecked Sendable {
        struct Job {
            var texts: [String]
            var continuation: CheckedContinuation<[[Float]], any Error>
        }

        let model: LlamaModel
        private let context: OpaquePointer
        private let dimensions: Int
        private let batchTokens: Int
        private let maxSequences: Int
        private let maximumTokens: Int
        private var batch: llama_batch
        private let inbox = LoopInbox<Job>()

        init(model: LlamaModel, context: OpaquePointer, dimensions: Int, batchTokens: Int, maxSequences: Int, maximumTokens: Int) {
            self.model = model
            self.context = context
            self.dimensions = dimensions
            self.batchTokens = batchTokens
            self.maxSequences = maxSequences
            self.maximumTokens = maximumTokens
            batch = llama_batch_init(Int32(batchTokens), 0, 1)
            // Its own loop, not a `DedicatedThread` executor: it takes every waiting request
            // at once and encodes them together.
            DedicatedThread.detach(name: "anima-embed", stackSize: 8 << 20) { [self] in self.run() }
        }

        deinit {
            llama_batch_free(batch)
            llama_free(context)
        }

        func submit(_ job: Job) {
            if !inbox.post(job) { job.continuation.resume(throwing: ProcessorError.shutDown) }
        }

        func shutdown() { inbox.stop() }

        private func run() {
            while true {
                let (jobs, stop) = inbox.take(wait: true)
                if stop {
                    for job in jobs { job.continuation.resume(throwing: ProcessorError.shutDown) }
                    inbox.finish()
                    return
                }
                // Every waiting request's texts in one queue, so small requests share
                // encode calls.
                let texts = jobs.flatMap(\.texts)
                do {
                    let vectors = try encode(texts)
                    var start = 0
                    for job in jobs {
                        job.continuation.resume(returning: Array(vectors[start..<start + job.texts.count]))
                        start += job.texts.count
                    }
                } catch {
                    for job in jobs { job.continuation.resume(throwing: error) }
                }
            }
        }

        private func tokens(_ text: String) -> [llama_token] {
            let all = model.tokenize(text, addSpecial: true, parseSpecial: false)
            guard all.count > maximumTokens, let last = all.last else { return all }
            // Keep the closing separator the encoder was trained to see.
            return Array(all.prefix(maximumTokens - 1)) + [last]
        }

        private func encode(_ texts: [String]) throws(ProcessorError) -> [[Float]] {
            var out = [[Float]](repeating: [], count: texts.count)
            var pending: [(index: Int, tokens: [llama_token])] = []
            var pendingTokens = 0
            for (index, text) in texts.enumerated() {
                let t = tokens(text)
                if !pending.isEmpty && (pendingTokens + t.count > batchTokens || pending.count == maxSequences) {
                    try encodeBatch(pending, into: &out)
                    pending.removeAll(keepingCapacity: true)
                    pendingTokens = 0
                }
                pending.append((index, t))
                pendingTokens += t.count
            }
            if !pending.isEmpty { try encodeBatch(pending, into: &out) }
            return out
        }

        private func encodeBatch(_ sequences: [(index: Int, tokens: [llama_token])], into out: inout [[Float]]) throws(ProcessorError) {
            var n: Int32 = 0
            for (seq, entry) in sequences.enumerated() {
                for (position, token) in entry.tokens.enumerated() {
                    let i = Int(n)
                    batch.token[i] = token
                    batch.pos[i] = llama_pos(position)
                    batch.n_seq_id[i] = 1
                    batch.seq_id[i]![0] = llama_seq_id(seq)
                    batch.logits[i] = 1
                    n += 1
                }
            }
            batch.n_tokens = n
            let status = LlamaRuntime.capturingErrors { llama_encode(context, batch) }
            guard status == 0 else {
                throw .engineFailure("llama_encode failed (\(status)): \(LlamaRuntime.lastErrors() ?? "no message")")
            }
            for (seq, entry) in sequences.enumerated() {
                guard let pointer = llama_get_embeddings_seq(context, llama_seq_id(seq)) else {
                    throw .engineFailure("llama.cpp returned no embedding for a sequence")
                }
                var vector = Array(UnsafeBufferPointer(start: pointer, count: dimensions))
                var norm: Float = 0
                for v in vector { norm += v * v }
                norm = norm.squareRoot()
                if norm > 0 { for i in vector.indices { vector[i] /= norm } }
                out[entry.index] = vector
            }
        }
    }
}
