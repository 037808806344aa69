import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaLlama
import AnimaProcessor
import ArgumentParser
import Foundation

/// Prompt processing speed: how fast the engine reads a prompt of n tokens, as
/// llama-batched-bench's S_PP reports it.
///
/// Long prompts (documents, tool results, a re-read context after a restart) wait on
/// prefill before the first token, so this is the rate a user feels as time to first token.
struct BenchPrefill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prefill",
        abstract: "Measure prompt processing (prefill) tokens/s at several prompt lengths.",
        discussion: """
            For each length n, times a generation of one token from a prompt of n tokens,
            from its start to its first token: the prompt read into the KV cache and one
            token sampled, as llama-batched-bench times its prompt processing (S_PP).
            scripts/bench-prefill.sh runs this next to llama-batched-bench.

            Example:
              anima-bench prefill --lengths 128,512,2048
            """
    )

    @Option(
        help: NumericFlag.help("Comma-separated prompt lengths in tokens.", 16...1_048_576),
        transform: NumericFlag.integers(16...1_048_576))
    var lengths: [Int] = [128, 512, 2048]

    @Option(help: NumericFlag.help("Runs per length; the median is reported.", 1...1000), transform: NumericFlag.integer(1...1000))
    var repetitions = 3

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    @OptionGroup var modelOptions: ModelOptions

    mutating func run() async throws {
        var options = modelOptions
        if options.context == nil { options.context = (lengths.max() ?? 2048) + 64 }
        let engine = try await options.load(slots: 1)
        if !json { print("model \(engine.info.name); median of \(repetitions) runs; \(engine.offload.summary)\(LlamaEngine.cpuBackend.map { "; \($0)" } ?? "")") }
        if !json { print("  prompt tokens   prefill ms   tokens/s") }
        _ = try await Self.firstTokenTime(engine, try await Self.request(engine, tokens: 16))  // warm-up
        for n in lengths {
            let request = try await Self.request(engine, tokens: n)
            let count = try await engine.countTokens(request)
            var times: [Double] = []
            for _ in 0..<repetitions { times.append(try await Self.firstTokenTime(engine, request)) }
            let median = percentile(times, 0.5)
            let rate = Double(count) / median
            if json {
                print(
                    JSONValue.object(
                        JSONObject([
                            ("prompt_tokens", .number(Double(count))), ("seconds", .number(median)),
                            ("tokens_per_second", .number(rate)),
                        ])
                    ).jsonText)
            } else {
                print(String(format: "  %13d   %10.2f   %8.1f", count, median * 1000, rate))
            }
        }
        engine.shutdown()
    }

    /// A user message of at least `tokens` tokens (numbers are one or two tokens, so count exactly).
    static func request(_ engine: LlamaEngine, tokens: Int) async throws -> GenerationRequest {
        var request = GenerationRequest(messages: [.user("")], sampling: .greedy(maxTokens: 1))
        request.sampling.ignoreEndOfTurn = true
        var words: [String] = []
        // Grow in steps, then one word at a time, so long prompts are not tokenised n times.
        while try await engine.countTokens(request) < tokens {
            let missing = tokens - (try await engine.countTokens(request))
            for _ in 0..<max(1, missing / 3) { words.append(String(words.count % 97)) }
            request.messages = [.user(words.joined(separator: " "))]
        }
        return request
    }

    /// Times one read of the whole prompt, and fails if any of it was not read.
    static func firstTokenTime(_ engine: LlamaEngine, _ request: GenerationRequest) async throws -> Double {
        let before = engine.statistics
        let clock = ContinuousClock()
        let start = clock.now
        for try await _ in engine.generate(unshared(request)) {}
        let elapsed = seconds(start.duration(to: clock.now))
        let after = engine.statistics
        guard after.reusedPromptTokens == before.reusedPromptTokens, after.sharedPrefixHits == before.sharedPrefixHits else {
            throw ValidationError("the engine reused cached prompt cells, so this was not a whole prefill")
        }
        return elapsed
    }

    /// The request under an owner of its own: a slot keeps the cells of the generation that
    /// ended on it for the same owner's next prompt (and the shared prefix cache is per owner
    /// too), so a prompt timed again, or one that begins like the last, would be read only in part.
    static func unshared(_ request: GenerationRequest) -> GenerationRequest {
        var request = request
        request.cacheOwner = "bench-\(UUID().uuidString)"
        return request
    }
}
