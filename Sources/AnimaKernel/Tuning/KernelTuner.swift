import AnimaProcessor
import Foundation

/// The kernel tuning itself from its live workload: every window it measures what the
/// engine delivered (generated tokens/s, the p99 gaps between a generation's tokens and
/// before its first), and moves one engine setting at a
/// time within its safe limits, keeping a move only when the measurement improved
/// (`TuningSearch`). Every decision goes to the audit log; `anima top` shows the settings in
/// force and the last decision.
public actor KernelTuner {
    public struct Configuration: Sendable {
        /// How long each setting is measured before it is judged.
        public var window: Duration = .seconds(4)
        /// Fewer generated tokens than this in a window judge nothing.
        public var minimumTokens = 64
        /// The smallest relative gain that counts as an improvement.
        public var minimumGain = 0.05
        /// How much worse the other measure may get (noise).
        public var tolerance = 0.05
        /// Windows to wait after every move failed before looking again.
        public var restWindows = 15

        public init() {}
    }

    /// What `anima top` shows.
    public struct Status: Sendable, Codable, Hashable {
        public var settings: EngineSettings
        public var state: String
        public var lastDecision: String?
        public var kept: Int
        public var reverted: Int
    }

    private let engine: any TunableEngine
    private let configuration: Configuration
    private let report: @Sendable (TuningDecision) async -> Void
    private var search: TuningSearch
    private var last: TuningDecision?
    private var kept = 0
    private var reverted = 0

    /// - Parameter report: called with each decision (the kernel's audit log: `Kernel.noteTuning`).
    public init(
        engine: any TunableEngine, configuration: Configuration = Configuration(),
        report: @escaping @Sendable (TuningDecision) async -> Void
    ) {
        self.engine = engine
        self.configuration = configuration
        self.report = report
        search = TuningSearch(
            settings: engine.settings, limits: engine.settingLimits,
            policy: .init(minimumGain: configuration.minimumGain, latencyTolerance: configuration.tolerance, restWindows: configuration.restWindows))
    }

    /// The slots to give an engine that this tuner will tune, `active` of them decoding at
    /// first: twice as many (at most `limit`), so that the tuner can raise the active slots
    /// where more generations want to run than decode at once, as well as lower them. The
    /// price is the KV cache of the extra slots, held whether they run or not.
    public static func slots(active: Int, limit: Int) -> Int { max(active, min(limit, active * 2)) }

    public var status: Status {
        Status(settings: search.settings, state: search.state, lastDecision: last?.summary, kept: kept, reverted: reverted)
    }

    /// Tunes until the task is cancelled.
    public func run() async {
        let clock = ContinuousClock()
        var reading = engine.statistics
        var started = clock.now
        while !Task.isCancelled {
            do { try await Task.sleep(for: configuration.window) } catch { return }
            let now = clock.now, fresh = engine.statistics
            let elapsed = now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let measured = TuningMeasurement.between(reading, fresh, seconds: seconds, minimumTokens: configuration.minimumTokens)
            await observe(measured)
            // The next window starts once the new settings are asked for.
            reading = engine.statistics
            started = clock.now
        }
    }

    /// One window's measurement (nil: too little work to judge); applies what the search chose.
    func observe(_ measured: TuningMeasurement?) async {
        let step = search.observe(measured)
        if let decision = step.decision {
            last = decision
            if decision.kept { kept += 1 } else { reverted += 1 }
            await report(decision)
        }
        if let settings = step.apply, settings != engine.settings { engine.apply(settings) }
    }
}
