import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaLlama
import AnimaProcessor
import ArgumentParser
import Foundation

/// Speculative decoding's speed-up over plain greedy decoding of the same target, same run.
struct BenchSpeculative: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speculative",
        abstract: "Measure speculative decoding (a draft model proposing tokens) against plain greedy decoding.",
        discussion: """
            For each prompt, decodes the target's greedy answer one token a step (the anchor,
            draft tokens 0) and then with the draft proposing --draft-tokens per step, in the
            same code on the same contexts, and reports tokens/s of both, the speed-up and the
            draft's acceptance rate. Where a speculative answer differs from the plain one (the
            target's batched reading rounds differently and a near tie flips), the row says after
            how many characters.

            Example:
              anima-bench speculative --target ~/.cache/anima/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf \\
                --draft ~/.cache/anima/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf --draft-tokens 4
            """
    )

    @Option(help: ArgumentHelp("The target GGUF model (default: Qwen2.5-Coder-1.5B in the model cache).", valueName: "path"))
    var target = AnimaDirectories.cache() + "/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"

    @Option(
        help: ArgumentHelp("The draft GGUF model, same vocabulary, smaller (default: Qwen2.5-Coder-0.5B).", valueName: "path"))
    var draft = AnimaDirectories.cache() + "/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"

    @Option(
        help: NumericFlag.help("Comma-separated tokens the draft proposes per step.", 1...SpeculativeDecoder.maxDraftTokens),
        transform: NumericFlag.integers(1...SpeculativeDecoder.maxDraftTokens))
    var draftTokens: [Int] = [4]

    @Option(help: NumericFlag.help("Tokens per answer.", 1...4096), transform: NumericFlag.integer(1...4096))
    var tokens = 128

    @Option(help: NumericFlag.help("CPU threads per model (default: every core).", 1...4096), transform: NumericFlag.integer(1...4096))
    var threads: Int?

    static let prompts = [
        "Write a Python function that checks whether a string is a palindrome, with a docstring and two examples.",
        "Explain in a few sentences what a hash table is and why lookups are fast on average.",
        "Write a Swift struct for a 2D point with addition and a distance function.",
    ]

    mutating func run() async throws {
        let threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let context = 512 + tokens + SpeculativeDecoder.maxDraftTokens + 1
        func load(_ path: String) async throws -> LlamaEngine {
            try await LlamaEngine.load(.init(modelPath: path, slots: 1, contextLength: context, threads: threads, scheduler: Scheduler()))
        }
        let targetEngine = try await load(target)
        let draftEngine = try await load(draft)
        let decoder = try SpeculativeDecoder(target: targetEngine, draft: draftEngine, contextLength: context, threads: threads)
        print("target \(targetEngine.info.name), draft \(draftEngine.info.name), \(tokens) tokens per answer, \(threads) threads")
        print("prompt  k   plain tok/s  speculative tok/s  speed-up  acceptance")
        _ = try await decoder.generate(Self.request(Self.prompts[0]), maxTokens: 8, draftTokens: 2)  // warm-up
        var plainTotal = (tokens: 0, seconds: 0.0)
        var totals: [Int: (tokens: Int, seconds: Double, drafted: Int, accepted: Int)] = [:]
        for (i, prompt) in Self.prompts.enumerated() {
            let request = Self.request(prompt)
            let plain = try await decoder.generate(request, maxTokens: tokens, draftTokens: 0)
            plainTotal.tokens += plain.statistics.generated
            plainTotal.seconds += plain.statistics.seconds
            for k in draftTokens {
                let fast = try await decoder.generate(request, maxTokens: tokens, draftTokens: k)
                // Every kept token is the target's greedy choice given what it read; reading k + 1
                // tokens in one batch may round differently from one at a time (the 1.5B's matrix
                // products are not batch-invariant), and a near tie then flips. Shown, not hidden.
                let same = zip(fast.text, plain.text).prefix { $0 == $1 }.count
                let differs = fast.text == plain.text ? "" : "  differs from the plain answer after \(same) characters"
                let s = fast.statistics
                totals[k, default: (0, 0, 0, 0)].tokens += s.generated
                totals[k, default: (0, 0, 0, 0)].seconds += s.seconds
                totals[k, default: (0, 0, 0, 0)].drafted += s.drafted
                totals[k, default: (0, 0, 0, 0)].accepted += s.accepted
                print(
                    String(
                        format: "%6d %2d %12.2f %18.2f %8.2fx %10.2f", i + 1, k, plain.statistics.tokensPerSecond, s.tokensPerSecond,
                        s.tokensPerSecond / max(plain.statistics.tokensPerSecond, 1e-9), s.acceptanceRate) + differs)
            }
        }
        let plainRate = Double(plainTotal.tokens) / max(plainTotal.seconds, 1e-9)
        for k in draftTokens {
            let t = totals[k]!
            let rate = Double(t.tokens) / max(t.seconds, 1e-9)
            print(
                String(
                    format: "   all %2d %12.2f %18.2f %8.2fx %10.2f", k, plainRate, rate, rate / max(plainRate, 1e-9),
                    t.drafted == 0 ? 0 : Double(t.accepted) / Double(t.drafted)))
        }
    }

    static func request(_ prompt: String) -> GenerationRequest {
        GenerationRequest(messages: [.user(prompt)], sampling: .greedy())
    }
}
