import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaLlama
import AnimaProcessor
import ArgumentParser
import Foundation
import Synchronization

struct BenchTune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "The kernel's tuner against fixed defaults on a mixed workload (issue 24, item 7).",
        discussion: """
            Each phase loads a fresh engine with the daemon's defaults (4 slots, round robin
            with a 32-token slice, every core, 512-token batch) and runs the same workload
            for --seconds: long-running agents under the kernel (one after another, each
            generating --agent-tokens), bursts of chat requests every --burst-every seconds
            (--burst requests at once, prompts of --prompt-words distinct words, --chat-tokens
            answers), and embeddings on the default embedder in batches with pauses, all on
            the same cores. One phase keeps the defaults; the other runs the kernel's tuner
            (`KernelTuner`, --window seconds a window) from the same defaults, exploration
            included, on an engine with room for twice the slots (`anima serve --tune`'s).
            Phases alternate across --rounds (fixed first in odd rounds). Reports generated
            tokens/s, chat latency p50/p99 and time to first token p99, the p99 gap between a
            generation's tokens, embeddings/s, and the tuned/fixed ratios (goal: tokens/s ≥
            1.15x at equal or better p99).

            Example:
              anima-bench tune --seconds 120 --rounds 2
            """
    )

    @Option(
        name: .customLong("seconds"), help: NumericFlag.help("Seconds each phase runs.", 10...100_000),
        transform: NumericFlag.integer(10...100_000))
    var phaseSeconds = 90
    @Option(help: NumericFlag.help("Rounds of both phases.", 1...100), transform: NumericFlag.integer(1...100))
    var rounds = 2
    @Option(help: NumericFlag.help("The tuner's window, in seconds.", 1...600), transform: NumericFlag.integer(1...600))
    var window = 5
    @Option(help: NumericFlag.help("Agents running at once.", 0...64), transform: NumericFlag.integer(0...64))
    var agents = 2
    @Option(help: NumericFlag.help("Tokens each agent generates.", 1...4096), transform: NumericFlag.integer(1...4096))
    var agentTokens = 256
    @Option(help: NumericFlag.help("Chat requests in one burst.", 0...256), transform: NumericFlag.integer(0...256))
    var burst = 4
    @Option(help: NumericFlag.help("Seconds between bursts.", 1...600), transform: NumericFlag.integer(1...600))
    var burstEvery = 6
    @Option(help: NumericFlag.help("Words in a chat prompt.", 1...2000), transform: NumericFlag.integer(1...2000))
    var promptWords = 40
    @Option(help: NumericFlag.help("Tokens of a chat answer.", 1...4096), transform: NumericFlag.integer(1...4096))
    var chatTokens = 48
    @Option(help: NumericFlag.help("Sentences in one embedding batch (0: no embeddings).", 0...1024), transform: NumericFlag.integer(0...1024))
    var embedBatch = 32
    @Option(help: NumericFlag.help("Milliseconds between embedding batches.", 0...60_000), transform: NumericFlag.integer(0...60_000))
    var embedPause = 1000
    @Option(help: NumericFlag.help("Slots of each phase's engine (the daemon's default: 4).", 1...64), transform: NumericFlag.integer(1...64))
    var slots = 4
    @Option(help: "The embedding model (GGUF); default: the one setup installs.")
    var embedder: String?
    @Flag(help: "Print each of the tuner's decisions as it makes it.") var verbose = false
    @Flag(help: "Run the fixed phase only (to compare fixed settings, such as --slots, under the same load).") var fixedOnly = false

    @OptionGroup var modelOptions: ModelOptions

    struct Result {
        var tokensPerSecond: Double
        var chatP50: Double
        var chatP99: Double
        var firstTokenP99: Double
        var gapP99: Double
        var chats: Int
        var embeddingsPerSecond: Double
        var settings: EngineSettings
        var kept: Int
        var reverted: Int
    }

    mutating func run() async throws {
        let embedderModel = try await LlamaEmbedder.load(.init(modelPath: embedder ?? AnimaPaths.defaultEmbedder))
        print(
            "model \(URL(fileURLWithPath: modelOptions.path).lastPathComponent); \(phaseSeconds) s a phase; \(agents) agents × \(agentTokens) tokens; "
                + "\(burst) chats every \(burstEvery) s (\(promptWords) words, \(chatTokens) tokens); embeddings \(embedBatch) per \(embedPause) ms")
        print("round  phase   tok/s  chat p50 s  chat p99 s  TTFT p99 s   gap p99 ms  chats  emb/s  settings (kept/reverted)")
        var fixed: [Result] = [], tuned: [Result] = []
        for round in 1...rounds {
            for tuning in fixedOnly ? [false] : round % 2 == 1 ? [false, true] : [true, false] {
                let r = try await phase(tuned: tuning, embedder: embedderModel)
                if tuning { tuned.append(r) } else { fixed.append(r) }
                print(
                    String(
                        format: "%5d  %@ %6.1f  %10.2f  %10.2f  %10.2f  %11.1f  %5d  %5.1f  ", round, tuning ? "tuned " : "fixed ",
                        r.tokensPerSecond, r.chatP50, r.chatP99, r.firstTokenP99, r.gapP99, r.chats, r.embeddingsPerSecond)
                        + "\(r.settings)" + (tuning ? " (\(r.kept)/\(r.reverted))" : ""))
            }
        }
        guard !tuned.isEmpty else { return }
        func median(_ xs: [Double]) -> Double { percentile(xs, 0.5) }
        let ratio = median(tuned.map(\.tokensPerSecond)) / median(fixed.map(\.tokensPerSecond))
        let p99 = median(tuned.map(\.chatP99)) / median(fixed.map(\.chatP99))
        let gap = median(tuned.map(\.gapP99)) / median(fixed.map(\.gapP99))
        print(String(format: "tuned / fixed (medians): tokens/s %.2f, chat p99 %.2f, token gap p99 %.2f", ratio, p99, gap))
    }

    /// What the workload's tasks count while a phase runs.
    final class Tally: Sendable {
        let chats = Mutex<[(total: Double, first: Double)]>([])
        let embedded = Mutex(0)
        let after = Mutex<EngineStatistics?>(nil)
    }

    func phase(tuned: Bool, embedder: LlamaEmbedder) async throws -> Result {
        // As `anima serve --tune` does: the tuned engine has room to raise its active slots.
        var configuration = LlamaEngine.Configuration(
            modelPath: modelOptions.path, slots: tuned ? KernelTuner.slots(active: slots, limit: LlamaEngine.maxSlots) : slots,
            contextLength: 1024, threads: modelOptions.threads ?? ProcessInfo.processInfo.activeProcessorCount,
            scheduler: Scheduler(policy: RoundRobinPolicy(quantum: 32)), sharedPrefixSequences: 1)
        configuration.activeSlots = slots
        let engine = try await LlamaEngine.load(configuration)
        let kernel = Kernel(.init(processor: IgnoringEndOfTurn(engine)))
        var tunerConfiguration = KernelTuner.Configuration()
        tunerConfiguration.window = .seconds(window)
        let verbose = verbose
        let tuner =
            tuned
            ? KernelTuner(engine: engine, configuration: tunerConfiguration) {
                if verbose { print("  tune: \($0.summary)") }
                await kernel.noteTuning($0)
            } : nil
        let clock = ContinuousClock()
        let start = clock.now, deadline = start + .seconds(phaseSeconds)
        let before = engine.statistics
        let tally = Tally()
        let (agents, agentTokens, burst, burstEvery, chatTokens, embedBatch, embedPause) =
            (agents, agentTokens, burst, burstEvery, chatTokens, embedBatch, embedPause)
        let words = (0..<5000).map { "w\($0 * 7919 % 5000)" }
        let promptWords = promptWords
        let prompt: @Sendable (Int) -> String = { n in
            "Summarise these notes: " + (0..<promptWords).map { words[(n * 131 + $0) % words.count] }.joined(separator: " ")
        }
        let tuning = Task { await tuner?.run() }
        await withTaskGroup(of: Void.self) { group in
            for a in 0..<agents {
                group.addTask {
                    var n = 0
                    while clock.now < deadline {
                        let spec = AgentSpec(
                            name: "agent-\(a)-\(n)", task: "Write a long story about harbour \(a * 1000 + n).", limits: .init(maxSteps: 1),
                            sampling: .init(temperature: 0, maxTokensPerStep: agentTokens))
                        guard let pid = try? await kernel.spawn(spec, owner: CurrentUser.principal) else { return }
                        _ = try? await kernel.wait(pid)
                        n += 1
                    }
                }
            }
            group.addTask {
                var n = 0
                await withTaskGroup(of: Void.self) { requests in
                    while clock.now < deadline {
                        for _ in 0..<burst {
                            n += 1
                            let request = GenerationRequest(messages: [.user(prompt(n))], sampling: .greedy(maxTokens: chatTokens))
                            requests.addTask {
                                let sent = clock.now
                                var first: Double?
                                do {
                                    for try await event in IgnoringEndOfTurn(engine).generate(request) {
                                        if case .text = event, first == nil { first = seconds(sent.duration(to: clock.now)) }
                                    }
                                } catch { return }
                                let total = seconds(sent.duration(to: clock.now))
                                if clock.now <= deadline { tally.chats.withLock { $0.append((total, first ?? total)) } }
                            }
                        }
                        try? await Task.sleep(until: min(deadline, clock.now + .seconds(burstEvery)))
                    }
                }
            }
            if embedBatch > 0 {
                group.addTask {
                    var n = 0
                    while clock.now < deadline {
                        let texts = (0..<embedBatch).map { i in "Note \(n * embedBatch + i): " + String(prompt(n * embedBatch + i).prefix(200)) }
                        if (try? await embedder.embed(texts)) != nil, clock.now <= deadline { tally.embedded.withLock { $0 += texts.count } }
                        n += 1
                        try? await Task.sleep(for: .milliseconds(embedPause))
                    }
                }
            }
            group.addTask {
                try? await Task.sleep(until: deadline)
                tally.after.withLock { $0 = engine.statistics }
                // Ends what is still running: the phase is over.
                engine.shutdown()
            }
        }
        tuning.cancel()
        let end = tally.after.withLock { $0 } ?? engine.statistics
        let elapsed = Double(phaseSeconds)
        let done = tally.chats.withLock { $0 }
        let status = await tuner?.status
        return Result(
            tokensPerSecond: Double(end.generatedTokens - before.generatedTokens) / elapsed,
            chatP50: percentile(done.map(\.total), 0.5), chatP99: percentile(done.map(\.total), 0.99),
            firstTokenP99: percentile(done.map(\.first), 0.99),
            gapP99: end.tokenGaps.since(before.tokenGaps).quantile(0.99) ?? 0, chats: done.count,
            embeddingsPerSecond: Double(tally.embedded.withLock { $0 }) / elapsed,
            settings: status?.settings ?? engine.settings, kept: status?.kept ?? 0, reverted: status?.reverted ?? 0)
    }
}
