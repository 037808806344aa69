import AnimaAutomation
import AnimaCommandSupport
import AnimaCore
import AnimaTesting
import ArgumentParser
import Foundation

/// `anima-bench workflows`: what the durable engine costs per step, how fast a trigger
/// starts a run, and what three engines on one store give over one.
struct BenchWorkflows: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workflows",
        abstract: "Measure no-op workflow steps and trigger-to-start latency against bare durable inserts.",
        discussion: """
            In one SQLite store (WAL, synchronous = FULL), alternating: N bare durable inserts
            (the anchor) and N no-op steps (each a recorded start and result, as every step
            is); then the latency from a manual start to its first step's recorded start,
            against one insert's latency. With --database, the same on PostgreSQL, and then
            the scale-out: runs of HTTP steps, each answered by a local server after --io-delay
            seconds, served by one and then three `anima workflow worker` processes (the
            daemon's engine, each with its own connections and --io-concurrency runs at once)
            sharing the database, in alternating rounds. The runs are queued and every
            worker's slots filled before the server starts answering; throughput is counted
            from then to the last answer.

            Example:
              anima-bench workflows --steps 500 --starts 50
              anima-bench workflows --steps 500 --starts 50 --database pgserver --io-delay 1
            """
    )

    @Option(help: NumericFlag.help("No-op steps (and inserts) per round.", 10...1_000_000), transform: NumericFlag.integer(10...1_000_000))
    var steps = 500

    @Option(help: NumericFlag.help("Runs started for the latency.", 5...100_000), transform: NumericFlag.integer(5...100_000))
    var starts = 50

    @Option(help: NumericFlag.help("Runs of I/O-bound steps for the scale-out.", 1...10_000), transform: NumericFlag.integer(1...10_000))
    var ioRuns = 384

    @Option(help: NumericFlag.help("HTTP steps per scale-out run.", 1...100), transform: NumericFlag.integer(1...100))
    var ioSteps = 2

    @Option(
        help: NumericFlag.help("Seconds the local server takes to answer each scale-out step.", 0.001...60),
        transform: NumericFlag.number(0.001...60))
    var ioDelay = 1.0

    @Option(
        help: NumericFlag.help("Runs each worker executes at once (the worker's and daemon's default: 64).", 1...1000),
        transform: NumericFlag.integer(1...1000))
    var ioConcurrency = 64

    @Option(help: NumericFlag.help("Rounds, alternating anchor and engine.", 1...100), transform: NumericFlag.integer(1...100))
    var rounds = 3

    @Option(
        help: ArgumentHelp(
            "Measure a PostgreSQL store instead of SQLite: an empty database (the benchmark adds tables), or `pgserver` for a throwaway server from the binaries setup installs.",
            valueName: "postgres://...|pgserver"))
    var database: String?

    /// Answers nothing: the benchmark's steps are waits.
    struct NoActions: StepActions {
        func runAgent(_ request: AgentStepRequest, as owner: Principal) async throws -> LabeledValue {
            throw StepFailure("none", retryable: false)
        }
        func callTool(_ name: String, arguments: JSONValue, as owner: Principal) async throws -> LabeledValue {
            throw StepFailure("none", retryable: false)
        }
        func http(_ request: HTTPStepRequest) async throws -> LabeledValue { throw StepFailure("none", retryable: false) }
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

    static func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("anima-bench-workflows-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store: any WorkflowStore
        let bareInsert: @Sendable (String) async throws -> Void
        var database = self.database
        if database == "pgserver" { database = try await PostgresTestServer.freshDatabaseURL() }
        if let database {
            let pg = try PostgresWorkflowStore(url: database, keyDirectory: directory, maximumConnections: 32)
            store = pg
            bareInsert = { try await pg.bareInsert($0) }
            print("store: \(pg.location)")
        } else {
            let sqlite = try SQLiteWorkflowStore(directory: directory)
            store = sqlite
            bareInsert = { try await sqlite.bareInsert($0) }
            print("store: SQLite \(sqlite.path)")
        }
        let owner = Principal(name: "bench", groups: ["net"])
        let engine = WorkflowEngine(store: store, actions: NoActions(), pollInterval: .milliseconds(1))
        let perRun = 50
        let noop = (1...perRun).map { #"{"id": "s\#($0)", "type": "wait", "seconds": 0}"# }.joined(separator: ",")
        _ = try await engine.add(#"{"name": "noop", "steps": [\#(noop)]}"#, owner: owner)
        _ = try await engine.add(#"{"name": "one", "steps": [{"id": "s", "type": "wait", "seconds": 0}]}"#, owner: owner)

        print("round\tinserts/s\tno-op steps/s\tstep cost / insert cost")
        var ratios: [Double] = []
        for round in 1...rounds {
            let clock = ContinuousClock()
            var start = clock.now
            for i in 0..<steps { try await bareInsert("insert \(i)") }
            let insertSeconds = Self.seconds(start.duration(to: clock.now)) / Double(steps)
            start = clock.now
            var ids: [String] = []
            for _ in 0..<max(1, steps / perRun) { ids.append(try await engine.start("noop", caller: owner).id) }
            for id in ids { _ = try await engine.wait(id) }
            let stepSeconds = Self.seconds(start.duration(to: clock.now)) / Double(ids.count * perRun)
            ratios.append(stepSeconds / insertSeconds)
            print(
                "\(round)\t\(String(format: "%.0f", 1 / insertSeconds))\t\(String(format: "%.0f", 1 / stepSeconds))\t\(String(format: "%.2f", stepSeconds / insertSeconds))"
            )
        }
        print("median step cost / insert cost: \(String(format: "%.2f", Self.median(ratios)))")

        var latencies: [Double] = []
        var insertLatencies: [Double] = []
        for i in 0..<starts {
            let t0 = Date()
            let run = try await engine.start("one", caller: owner)
            _ = try await engine.wait(run.id)
            if let first = try await store.steps(run: run.id).first { latencies.append(first.started.timeIntervalSince(t0) * 1000) }
            let c = ContinuousClock.now
            try await bareInsert("latency \(i)")
            insertLatencies.append(Self.seconds(c.duration(to: .now)) * 1000)
        }
        print(
            "trigger-to-start p50 \(String(format: "%.2f", Self.median(latencies))) ms (one insert p50 \(String(format: "%.2f", Self.median(insertLatencies))) ms, ratio \(String(format: "%.2f", Self.median(latencies) / Self.median(insertLatencies))))"
        )

        try await scaleOut(database: database, directory: directory, store: store, owner: owner)
    }
}
