import AnimaCommandSupport
import AnimaCore
import AnimaLlama
import AnimaProcessor
import ArgumentParser
import Foundation

struct BenchDecode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Measure aggregate decode throughput with concurrent generations.",
        discussion: """
            For each concurrency level N, starts N generations at once, each generating
            exactly --tokens tokens (end-of-turn ignored, greedy), and reports generation
            throughput: tokens produced after every sequence's first token, divided by the
            time that took. This is what llama-batched-bench reports as S_TG.
            scripts/bench-decode.sh runs this next to llama-batched-bench.

            Example:
              anima-bench decode --concurrency 1,4,8,16 --tokens 128
            """
    )

    @Option(help: NumericFlag.help("Comma-separated numbers of concurrent generations.", 1...255), transform: NumericFlag.integers(1...255))
    var concurrency: [Int] = [1, 4, 8, 16]

    @Option(help: NumericFlag.help("Tokens each generation produces.", 1...100_000), transform: NumericFlag.integer(1...100_000))
    var tokens = 128

    @Option(help: NumericFlag.help("Approximate prompt length in tokens.", 1...1_000_000), transform: NumericFlag.integer(1...1_000_000))
    var promptTokens = 32

    @Option(help: NumericFlag.help("Runs per level; the best is reported.", 1...1000), transform: NumericFlag.integer(1...1000))
    var repetitions = 2

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    @OptionGroup var modelOptions: ModelOptions

    mutating func run() async throws {
        var options = modelOptions
        if options.context == nil { options.context = promptTokens + tokens + 64 }
        let engine = try await options.load(slots: concurrency.max()!)
        let words = ["river", "stone", "light", "forest", "signal", "harbor", "ember", "field"]
        func prompt(_ i: Int) -> String {
            (0..<max(1, promptTokens - 12)).map { words[($0 * 7 + i) % words.count] }.joined(separator: " ")
        }
        if !json { print("model \(engine.info.name), \(tokens) tokens per generation, prompt ~\(promptTokens) tokens; \(engine.offload.summary)\(LlamaEngine.cpuBackend.map { "; \($0)" } ?? "")") }
        if !json { print("   N   tokens   seconds    tok/s   per-seq tok/s") }
        _ = try await Self.measure(engine, n: 1, tokens: 8, prompt: prompt)  // warm-up
        for n in concurrency {
            var best: (tokens: Int, seconds: Double)?
            for _ in 0..<repetitions {
                let m = try await Self.measure(engine, n: n, tokens: tokens, prompt: prompt)
                if best == nil || Double(m.tokens) / m.seconds > Double(best!.tokens) / best!.seconds { best = m }
            }
            let rate = Double(best!.tokens) / best!.seconds
            if ProcessInfo.processInfo.environment["ANIMA_BENCH_PROFILE"] == "1" {
                let s = engine.statistics
                Terminal.error(
                    String(
                        format: "  [steps %d, decode %.2fs, sampling %.2fs]\n", s.decodeSteps, Double(s.decodeNanoseconds) / 1e9,
                        Double(s.samplingNanoseconds) / 1e9))
            }
            if json {
                print(
                    JSONValue.object(
                        JSONObject([
                            ("concurrency", .number(Double(n))), ("tokens", .number(Double(best!.tokens))),
                            ("seconds", .number(best!.seconds)), ("tokens_per_second", .number(rate)),
                        ])
                    ).jsonText)
            } else {
                print(String(format: "%4d %8d %9.3f %8.1f %15.1f", n, best!.tokens, best!.seconds, rate, rate / Double(n)))
            }
        }
    }

    /// Starts n generations together; returns tokens generated after all first tokens and the time they took.
    static func measure(_ engine: LlamaEngine, n: Int, tokens: Int, prompt: (Int) -> String) async throws -> (tokens: Int, seconds: Double)
    {
        var sampling = SamplingParameters.greedy(maxTokens: tokens)
        sampling.ignoreEndOfTurn = true
        let clock = ContinuousClock()
        let marks = try await withThrowingTaskGroup(of: (first: ContinuousClock.Instant, last: ContinuousClock.Instant, count: Int).self) {
            group in
            for i in 0..<n {
                let request = GenerationRequest(messages: [.user(prompt(i))], sampling: sampling)
                group.addTask {
                    var first: ContinuousClock.Instant?
                    var last = clock.now
                    var count = 0
                    for try await event in engine.generate(request) {
                        if case .usage(let u) = event { count = u.completionTokens }
                        if first == nil { first = clock.now }
                        last = clock.now
                    }
                    return (first ?? last, last, count)
                }
            }
            var all: [(first: ContinuousClock.Instant, last: ContinuousClock.Instant, count: Int)] = []
            for try await m in group { all.append(m) }
            return all
        }
        let start = marks.map(\.first).max()!
        let end = marks.map(\.last).max()!
        let produced = marks.reduce(0) { $0 + $1.count - 1 }
        let elapsed = start.duration(to: end)
        return (produced, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}
