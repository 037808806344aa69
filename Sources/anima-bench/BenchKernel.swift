import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaLlama
import AnimaProcessor
import AnimaTesting
import ArgumentParser
import Foundation

/// Seconds in a Duration, as a Double.
func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

func jsonLine(_ pairs: [(String, JSONValue)]) -> String { JSONValue.object(JSONObject(pairs)).jsonText }

struct BenchAgents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents",
        abstract: "Concurrent agents under Anima's scheduler versus one at a time.",
        discussion: """
            For each count N, runs N agents that each generate --tokens tokens (end of turn
            ignored, greedy) twice in the same process: once under Anima's kernel with N
            slots (continuous batching, round robin, shared prefix cache), once one at a
            time on a single slot with no prefix cache, which is what a FIFO scheduler over
            parallel API calls does (AIOS). Reports aggregate tokens/s and p50/p95
            turnaround (spawn to exit) for both, and the ratio. For Anima it also reports
            the rate of the generation phase alone, as llama-batched-bench's S_TG counts
            it (tokens generated after every agent's first token over the time since), and
            the mean prompt length each agent read.

            Example:
              anima-bench agents --agents 8,16,32 --tokens 128
              anima-bench agents --agents 8 --shared-prompt 256
            """
    )

    @Option(help: NumericFlag.help("Comma-separated agent counts.", 1...100_000), transform: NumericFlag.integers(1...100_000))
    var agents: [Int] = [8, 16, 32]

    @Option(help: NumericFlag.help("Tokens each agent generates.", 1...100_000), transform: NumericFlag.integer(1...100_000))
    var tokens = 128

    @Option(
        help: NumericFlag.help("Tokens of a system prompt every agent shares (0: distinct prompts only).", 0...1_000_000),
        transform: NumericFlag.integer(0...1_000_000))
    var sharedPrompt = 0

    @Flag(help: "Skip the one-at-a-time run (scripts/bench-agents.sh compares with llama-batched-bench instead).")
    var noBaseline = false

    @OptionGroup var modelOptions: ModelOptions

    mutating func run() async throws {
        let words = ["river", "stone", "light", "forest", "signal", "harbor", "ember", "field", "cloud", "tower"]
        // Roughly one token per word for these common words.
        let system =
            sharedPrompt > 0
            ? "You are a careful assistant. " + (0..<sharedPrompt).map { words[$0 % words.count] }.joined(separator: " ")
            : nil
        func task(_ i: Int) -> String { "Write about \(words[i % words.count]) number \(i)." }
        print(
            "model \(URL(fileURLWithPath: modelOptions.path).lastPathComponent), \(tokens) tokens per agent, shared prompt \(sharedPrompt) tokens"
        )
        print("   N   mode        tok/s   p50 s   p95 s   ratio")
        for n in agents {
            let anima = try await Self.measure(
                n: n, tokens: tokens, system: system, task: task, slots: n, policy: RoundRobinPolicy(quantum: 32), prefixSlots: 1,
                options: modelOptions)
            let phase =
                String(format: "   generating %6.1f tok/s, prompts %.1f tokens", anima.generationRate, anima.promptTokens)
                + ", \(anima.sharedPrefixHits) started from the shared prefix cache"
            if noBaseline {
                print(String(format: "%4d   anima      %6.1f %7.2f %7.2f", n, anima.rate, anima.p50, anima.p95) + phase)
                continue
            }
            let fifo = try await Self.measure(
                n: n, tokens: tokens, system: system, task: task, slots: 1, policy: FIFOPolicy(), prefixSlots: 0, options: modelOptions)
            for (mode, m) in [("anima", anima), ("one-by-one", fifo)] {
                print(
                    String(format: "%4d   ", n) + mode.padding(toLength: 10, withPad: " ", startingAt: 0)
                        + String(format: " %6.1f %7.2f %7.2f %7.2f", m.rate, m.p50, m.p95, m.rate / fifo.rate)
                        + (mode == "anima" ? phase : ""))
            }
        }
    }

    struct Measurement {
        /// Generated tokens over the whole time, spawn to the last exit (prompts read included).
        var rate: Double
        var p50: Double
        var p95: Double
        /// Generated tokens over the time after every agent's first token, as S_TG is counted.
        var generationRate: Double
        /// Prompt tokens each agent's generation had, on average.
        var promptTokens: Double
        /// Agents whose system prompt was copied from the shared prefix cache, not read.
        var sharedPrefixHits: Int
    }

    static func measure(
        n: Int, tokens: Int, system: String?, task: (Int) -> String, slots: Int, policy: any SlotPolicy, prefixSlots: Int,
        options: ModelOptions
    ) async throws -> Measurement {
        let configuration = LlamaEngine.Configuration(
            modelPath: options.path, slots: slots, contextLength: (options.context ?? 0) > 0 ? options.context : 1024,
            threads: options.threads ?? ProcessInfo.processInfo.activeProcessorCount, scheduler: Scheduler(policy: policy),
            sharedPrefixSequences: prefixSlots)
        let engine = try await LlamaEngine.load(configuration)
        let kernel = Kernel(.init(processor: IgnoringEndOfTurn(engine)))
        let clock = ContinuousClock()
        // The generation phase starts when the last of the n agents shows its first text.
        let events = await kernel.events()
        let phaseStart = Task { () -> (ContinuousClock.Instant, Int)? in
            var started = Set<PID>()
            for await event in events {
                if case .text(let pid, _) = event, started.insert(pid).inserted, started.count == n {
                    return (clock.now, engine.statistics.generatedTokens)
                }
            }
            return nil
        }
        let start = clock.now
        var pids: [PID] = []
        for i in 0..<n {
            let spec = AgentSpec(
                name: "bench-\(i)", task: task(i), systemPrompt: system, limits: .init(maxSteps: 1),
                sampling: .init(temperature: 0, maxTokensPerStep: tokens))
            pids.append(try await kernel.spawn(spec, owner: CurrentUser.principal))
        }
        var turnaround: [Double] = []
        var generated = 0, prompts = 0
        for pid in pids {
            _ = try await kernel.wait(pid)
            turnaround.append(seconds(start.duration(to: clock.now)))
            let usage = await kernel.status(pid)?.usage
            generated += usage?.generatedTokens ?? 0
            prompts += usage?.promptTokens ?? 0
        }
        let end = clock.now
        let statistics = engine.statistics
        phaseStart.cancel()
        let phase = await phaseStart.value
        engine.shutdown()
        let generationRate = phase.map { Double(statistics.generatedTokens - $0.1) / seconds($0.0.duration(to: end)) } ?? 0
        return Measurement(
            rate: Double(generated) / seconds(start.duration(to: end)), p50: percentile(turnaround, 0.5),
            p95: percentile(turnaround, 0.95), generationRate: generationRate, promptTokens: Double(prompts) / Double(n),
            sharedPrefixHits: statistics.sharedPrefixHits)
    }
}

struct BenchResume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Resume cost of a preempted agent: KV restore versus reading its context again.",
        discussion: """
            For each context length, suspends a generation holding that many tokens and
            times its resume: the saved KV state restored into a slot, ready for its next
            decode step. Then times a new generation with the same prompt to its first
            token: the context read again, as a scheduler without context switches must.
            Either way the agent then decodes as usual. Medians of --repetitions runs; the
            ratio is prefill time / restore time.

            Example:
              anima-bench resume --contexts 256,1024,2048
            """
    )

    @Option(
        help: NumericFlag.help("Comma-separated context lengths in tokens.", 16...1_048_576),
        transform: NumericFlag.integers(16...1_048_576))
    var contexts: [Int] = [256, 1024, 2048]

    @Option(help: NumericFlag.help("Runs per length.", 1...1000), transform: NumericFlag.integer(1...1000))
    var repetitions = 5

    @OptionGroup var modelOptions: ModelOptions

    mutating func run() async throws {
        let engine = try await LlamaEngine.load(
            .init(
                modelPath: modelOptions.path, slots: 2, contextLength: (contexts.max() ?? 2048) + 64,
                threads: modelOptions.threads ?? ProcessInfo.processInfo.activeProcessorCount, scheduler: Scheduler()))
        print("model \(engine.info.name); median of \(repetitions) runs")
        print("  context   restore ms   prefill ms   prefill/restore")
        for n in contexts {
            // A prompt of about n tokens: numbers are one or two tokens each, so count exactly.
            var words: [String] = []
            var request = GenerationRequest(messages: [.user("")], sampling: .greedy(maxTokens: 100_000))
            request.sampling.ignoreEndOfTurn = true
            while try await engine.countTokens(request) < n {
                words.append(String(words.count % 97))
                request.messages = [.user(words.joined(separator: " "))]
            }
            var restore: [Double] = [], prefill: [Double] = []
            for _ in 0..<repetitions {
                restore.append(try await Self.restoreTime(engine, request))
                prefill.append(try await Self.firstTokenTime(engine, request))
            }
            let r = percentile(restore, 0.5) * 1000, p = percentile(prefill, 0.5) * 1000
            print(String(format: "  %7d   %10.2f   %10.2f   %15.1f", n, r, p, p / r))
        }
        engine.shutdown()
    }

    static func firstTokenTime(_ engine: LlamaEngine, _ request: GenerationRequest) async throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        let generation = engine.start(BenchPrefill.unshared(request))
        var iterator = generation.events.makeAsyncIterator()
        _ = try await iterator.next()
        let elapsed = seconds(start.duration(to: clock.now))
        await generation.cancel()
        return elapsed
    }

    static func restoreTime(_ engine: LlamaEngine, _ request: GenerationRequest) async throws -> Double {
        let generation = engine.start(request)
        var iterator = generation.events.makeAsyncIterator()
        _ = try await iterator.next()
        try await generation.suspend()
        let clock = ContinuousClock()
        let start = clock.now
        // resume() returns once the saved state is back in a slot, ready for the next step.
        try await generation.resume()
        let elapsed = seconds(start.duration(to: clock.now))
        await generation.cancel()
        return elapsed
    }
}

struct BenchSyscalls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "syscalls",
        abstract: "Syscall overhead with a null model, and the memory of an idle process.",
        discussion: """
            Times --count syscalls of each kind from one process (a memory read, a message
            to itself and its receipt, a generation on a model that answers nothing) and,
            as the anchor in the same run, the same number of calls to an empty actor
            method. Then spawns --idle processes that wait for a message and reports the
            resident memory they add, per process.

            Example:
              anima-bench syscalls --count 100000 --idle 10000
            """
    )

    @Option(help: NumericFlag.help("Syscalls per kind.", 1...100_000_000), transform: NumericFlag.integer(1...100_000_000))
    var count = 100_000

    @Option(
        help: NumericFlag.help("Idle processes for the memory measurement.", 0...10_000_000), transform: NumericFlag.integer(0...10_000_000)
    )
    var idle = 10_000

    actor Empty { func touch() {} }

    mutating func run() async throws {
        let kernel = Kernel(.init(processor: ScriptedModel(contextLength: 1 << 30) { _ in .text("") }, maxProcesses: idle + 16))
        let clock = ContinuousClock()
        let count = self.count
        let empty = Empty()
        var anchor: [Double] = []
        for _ in 0..<count {
            let t = clock.now
            await empty.touch()
            anchor.append(seconds(t.duration(to: clock.now)))
        }
        let samples = Samples()
        let pid = try await kernel.spawn(name: "bench", owner: CurrentUser.principal) { context in
            for kind in ["memory.read", "send+receive", "generate"] {
                var times: [Double] = []
                times.reserveCapacity(count)
                for _ in 0..<count {
                    let t = clock.now
                    switch kind {
                    case "memory.read": _ = try await context.syscall(.memory(.read(key: "k")))
                    case "send+receive":
                        try await context.send(1, to: context.pid)
                        _ = try await context.receive()
                    default: _ = try await context.generate(GenerationRequest(messages: [.user("x")]))
                    }
                    times.append(seconds(t.duration(to: clock.now)))
                }
                await samples.add(kind, times)
            }
            return "done"
        }
        _ = try await kernel.wait(pid)
        print("\(count) calls each; microseconds")
        print("  call                  p50      p99   p50 / empty actor call")
        let a50 = percentile(anchor, 0.5) * 1e6
        func row(_ name: String, _ p50: Double, _ p99: Double) {
            print(
                "  " + name.padding(toLength: 18, withPad: " ", startingAt: 0)
                    + String(format: " %7.2f  %7.2f   %6.1f", p50, p99, p50 / a50))
        }
        row("empty actor call", a50, percentile(anchor, 0.99) * 1e6)
        for (kind, times) in await samples.all {
            row(kind, percentile(times, 0.5) * 1e6, percentile(times, 0.99) * 1e6)
        }

        let before = Self.residentBytes()
        var idlers: [PID] = []
        for i in 0..<idle {
            idlers.append(
                try await kernel.spawn(name: "idle-\(i)", owner: CurrentUser.principal) { context in
                    _ = try await context.receive()
                    return "woken"
                })
        }
        while await kernel.processes().filter({ if case .blocked = $0.state { true } else { false } }).count < idle {
            try await Task.sleep(for: .milliseconds(20))
        }
        let after = Self.residentBytes()
        print(String(format: "%d idle processes: %.1f KiB resident each", idle, Double(after - before) / Double(idle) / 1024))
        for pid in idlers { try await kernel.signal(pid, .terminate) }
    }

    actor Samples {
        var all: [(String, [Double])] = []
        func add(_ kind: String, _ times: [Double]) { all.append((kind, times)) }
    }

    /// Resident set size from /proc/self/statm.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return (fields.count > 1 ? Int(fields[1]) ?? 0 : 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

struct BenchScripted: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scripted",
        abstract: "Time per request of the scripted model alone, the anchor for the daemon's overhead.",
        discussion: """
            Runs the request scripts/bench-server.sh sends over HTTP, in-process on the same
            scripted model the daemon serves with --scripted, and prints p50 and p99 in
            microseconds.
            """
    )

    @Option(help: NumericFlag.help("Requests to time.", 1...100_000_000), transform: NumericFlag.integer(1...100_000_000))
    var count = 20_000

    mutating func run() async throws {
        let model = ScriptedProcessor(slots: 256, scheduler: Scheduler()) { request in
            .text("You said: " + (request.messages.last?.content ?? ""))
        }
        model.startStepping()
        let request = GenerationRequest(messages: [.user("hello")])
        let clock = ContinuousClock()
        var times: [Double] = []
        for _ in 0..<count {
            let t = clock.now
            _ = try await model.generate(request).collect()
            times.append(seconds(t.duration(to: clock.now)))
        }
        print(String(format: "p50 %.1f", percentile(times, 0.5) * 1e6))
        print(String(format: "p99 %.1f", percentile(times, 0.99) * 1e6))
    }
}
