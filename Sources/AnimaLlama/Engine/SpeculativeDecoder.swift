import AnimaCore
import AnimaProcessor
import CLlama
import Foundation

/// Greedy decoding of a target model sped up by a small draft model of the same vocabulary.
///
/// Each round the draft writes `draftTokens` tokens one at a time (cheap), then the target
/// reads them all in one batch and keeps the longest prefix it would have written itself,
/// plus its own next token. Every kept token is the target's greedy choice, so the answer is
/// the target's greedy answer; the speed-up depends on how often the draft guesses right
/// (`Statistics.acceptanceRate`). With `draftTokens` 0 it is plain one-token-a-step
/// decoding in the same code, the anchor of `anima-bench speculative`.
///
/// One sequence at a time on contexts of its own, apart from the engines' continuous
/// batches; calls block, so `generate` runs them on a dedicated thread.
public final class SpeculativeDecoder: @unchecked Sendable {
    /// What one generation did.
    public struct Statistics: Sendable, Hashable {
        /// Tokens written (the answer's, end of turn excluded).
        public var generated = 0
        /// Tokens the draft proposed, and how many of them the target kept.
        public var drafted = 0
        public var accepted = 0
        /// Batches the target decoded after the prompt.
        public var targetSteps = 0
        /// Seconds from the first prompt token read to the last token written.
        public var seconds = 0.0

        /// The share of proposed tokens the target kept (0 when none was proposed).
        public var acceptanceRate: Double { drafted == 0 ? 0 : Double(accepted) / Double(drafted) }
        public var tokensPerSecond: Double { seconds > 0 ? Double(generated) / seconds : 0 }
    }

    public enum Failure: Error, CustomStringConvertible {
        case vocabularyMismatch(target: String, draft: String)
        case badDraftLength(Int)
        case decodeFailed(String)

        public var description: String {
            switch self {
            case .vocabularyMismatch(let target, let draft):
                "\(draft) cannot draft for \(target): their vocabularies differ (use a smaller model of the same family)"
            case .badDraftLength(let n): "draft tokens must be between 0 and \(SpeculativeDecoder.maxDraftTokens), not \(n)"
            case .decodeFailed(let why): "speculative decoding failed: \(why)"
            }
        }
    }

    public static let maxDraftTokens = 16

    private let target: LlamaEngine
    private let draft: LlamaEngine
    private let targetContext: OpaquePointer
    private let draftContext: OpaquePointer
    private let contextLength: Int
    private let lock = NSLock()

    /// - Parameters:
    ///   - target: the model whose greedy answer is wanted.
    ///   - draft: a smaller model with the same vocabulary (Qwen2.5-Coder-0.5B for the 1.5B).
    ///   - contextLength: tokens of prompt and answer; default the target's.
    ///   - threads: CPU threads for each model; default every core.
    public init(
        target: LlamaEngine, draft: LlamaEngine, contextLength: Int? = nil,
        threads: Int = ProcessInfo.processInfo.activeProcessorCount
    ) throws {
        guard Self.sameVocabulary(target.model, draft.model) else {
            throw Failure.vocabularyMismatch(target: target.info.name, draft: draft.info.name)
        }
        self.target = target
        self.draft = draft
        self.contextLength = contextLength ?? target.info.contextLength
        let length = contextLength ?? target.info.contextLength
        let targetContext = try Self.context(target.model, length: length, threads: threads)
        do {
            draftContext = try Self.context(draft.model, length: length, threads: threads)
        } catch {
            llama_free(targetContext)
            throw error
        }
        self.targetContext = targetContext
    }

    deinit {
        llama_free(targetContext)
        llama_free(draftContext)
    }

    /// The same tokens mean the same text: same size, same special tokens, same pieces.
    static func sameVocabulary(_ a: LlamaModel, _ b: LlamaModel) -> Bool {
        guard a.vocabularySize == b.vocabularySize, a.endOfGenerationTokens == b.endOfGenerationTokens else { return false }
        let step = max(1, Int(a.vocabularySize) / 997)
        return stride(from: 0, to: Int(a.vocabularySize), by: step).allSatisfy { a.piece(llama_token($0)) == b.piece(llama_token($0)) }
    }

    private static func context(_ model: LlamaModel, length: Int, threads: Int) throws -> OpaquePointer {
        var params = llama_context_default_params()
        params.n_ctx = UInt32(length)
        params.n_batch = 512
        params.n_ubatch = 512
        params.n_seq_max = 1
        params.n_threads = Int32(threads)
        params.n_threads_batch = Int32(threads)
        // The engine's settings, so the target's greedy tokens are the engine's.
        params.kv_unified = false
        params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_ENABLED
        params.no_perf = true
        guard let created = LlamaRuntime.capturingErrors({ llama_init_from_model(model.pointer, params) }) else {
            throw Failure.decodeFailed("could not create a context of \(length) tokens: \(LlamaRuntime.lastErrors() ?? "out of memory?")")
        }
        return created
    }

    /// The target's greedy answer to `request` (its chat template, tools offered as the engine
    /// offers them), with `draftTokens` proposed per round; runs on a dedicated thread.
    public func generate(
        _ request: GenerationRequest, maxTokens: Int, draftTokens: Int
    ) async throws -> (text: String, statistics: Statistics) {
        let prompt = try target.promptTokens(request)
        let (tokens, statistics) = try await DedicatedThread.offload(name: "anima-speculative", stackSize: 8 << 20) {
            () throws -> ([llama_token], Statistics) in
            try self.decode(prompt: prompt, maxTokens: maxTokens, draftTokens: draftTokens)
        }
        let bytes = tokens.flatMap { target.model.piece($0) }
        return (String(decoding: bytes, as: UTF8.self), statistics)
    }

    /// The loop itself, blocking: one generation at a time.
    /// `sabotage` n > 0 replaces every n-th proposal with another token, so tests see
    /// rejections (and the rollback of both caches) even with a draft that always agrees.
    func decode(prompt: [llama_token], maxTokens: Int, draftTokens k: Int, sabotage: Int = 0) throws -> ([llama_token], Statistics) {
        guard (0...Self.maxDraftTokens).contains(k) else { throw Failure.badDraftLength(k) }
        guard !prompt.isEmpty, prompt.count + maxTokens + k + 1 <= contextLength else {
            throw ProcessorError.promptTooLong(tokens: prompt.count + maxTokens, limit: contextLength)
        }
        lock.lock()
        defer { lock.unlock() }
        var stats = Statistics()
        let started = DispatchTime.now().uptimeNanoseconds
        llama_memory_clear(llama_get_memory(targetContext), true)
        llama_memory_clear(llama_get_memory(draftContext), true)
        var batch = llama_batch_init(512, 0, 1)
        defer { llama_batch_free(batch) }

        /// Decodes `tokens` from position `at`, with logits for the last `logits` of them.
        func run(_ context: OpaquePointer, _ tokens: ArraySlice<llama_token>, at position: Int, logits: Int) throws {
            var offset = 0
            while offset < tokens.count {
                let chunk = min(512, tokens.count - offset)
                batch.n_tokens = Int32(chunk)
                for i in 0..<chunk {
                    let index = offset + i
                    batch.token[i] = tokens[tokens.startIndex + index]
                    batch.pos[i] = llama_pos(position + index)
                    batch.n_seq_id[i] = 1
                    batch.seq_id[i]![0] = 0
                    batch.logits[i] = index >= tokens.count - logits ? 1 : 0
                }
                let rc = llama_decode(context, batch)
                guard rc == 0 else { throw Failure.decodeFailed(rc == 1 ? "the KV cache is full" : "llama_decode returned \(rc)") }
                offset += chunk
            }
        }
        func argmax(_ context: OpaquePointer, _ index: Int32, vocabulary: Int32) -> llama_token {
            let logits = llama_get_logits_ith(context, index)!
            var best: Int32 = 0
            for t in 1..<vocabulary where logits[Int(t)] > logits[Int(best)] { best = t }
            return best
        }
        let vocabulary = target.model.vocabularySize

        try run(targetContext, prompt[...], at: 0, logits: 1)
        var next = argmax(targetContext, -1, vocabulary: vocabulary)
        if k > 0 { try run(draftContext, prompt.dropLast(), at: 0, logits: 0) }
        // Tokens the draft has not read yet, from position `position - draftBehind.count`.
        var draftBehind: [llama_token] = k > 0 ? [prompt.last!] : []
        var position = prompt.count  // where `next` goes
        var out: [llama_token] = []
        while true {
            if target.model.isEndOfGeneration(next) { break }
            out.append(next)
            if out.count >= maxTokens { break }
            var proposals: [llama_token] = []
            if k > 0 {
                // The draft catches up and proposes k tokens after `next`.
                draftBehind.append(next)
                var input = draftBehind
                var at = position + 1 - draftBehind.count
                for _ in 0..<k {
                    try run(draftContext, input[...], at: at, logits: 1)
                    at += input.count
                    var proposal = argmax(draftContext, -1, vocabulary: vocabulary)
                    if sabotage > 0, (stats.drafted + proposals.count + 1) % sabotage == 0 { proposal = (proposal + 1) % vocabulary }
                    proposals.append(proposal)
                    input = [proposal]
                }
                stats.drafted += k
            }
            try run(targetContext, ([next] + proposals)[...], at: position, logits: proposals.count + 1)
            stats.targetSteps += 1
            var kept = 0
            var finished = false
            while kept < proposals.count, out.count < maxTokens {
                let choice = argmax(targetContext, Int32(kept), vocabulary: vocabulary)
                guard choice == proposals[kept] else { break }
                kept += 1
                if target.model.isEndOfGeneration(choice) {
                    finished = true
                    break
                }
                out.append(choice)
            }
            stats.accepted += kept
            if finished || out.count >= maxTokens { break }
            next = argmax(targetContext, Int32(kept), vocabulary: vocabulary)
            // Forget what was rejected: the target read next + proposals, the draft read
            // next + all proposals but the last.
            let keepUntil = position + 1 + kept
            llama_memory_seq_rm(llama_get_memory(targetContext), 0, llama_pos(keepUntil), -1)
            if k > 0 {
                llama_memory_seq_rm(llama_get_memory(draftContext), 0, llama_pos(keepUntil), -1)
                // Every proposal kept: the draft never read the last one.
                draftBehind = kept == proposals.count ? [proposals[kept - 1]] : []
            }
            position = keepUntil
        }
        stats.generated = out.count
        stats.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return (out, stats)
    }
}
