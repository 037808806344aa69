import AnimaProcessor

/// The tuner's search, without clocks or engines: fed one measurement per window, it says
/// which settings to run next and what it decided.
///
/// A hill climb, one setting at a time: measure the settings in force (a baseline window),
/// try one move (threads one fewer or more; batch, active slots or time slice halved or
/// doubled, within their limits) for a window, and keep it only when throughput rose by `minimumGain` with the
/// p99 step no more than `latencyTolerance` worse, or the p99 step fell by `minimumGain` with
/// throughput no more than `latencyTolerance` lower, in that window and again in the next
/// (one lucky window of a bursty workload is not a gain); otherwise go back. A kept move is tried
/// again in the same direction, and its opposite not straight after. When every move has failed in a row, the search rests for
/// `restWindows` windows, then looks again (the workload may have changed). A window with too
/// little work (nil) judges nothing: a trial under way is abandoned and the baseline restored.
struct TuningSearch: Sendable {
    struct Policy: Sendable {
        var minimumGain = 0.05
        var latencyTolerance = 0.05
        var restWindows = 15
    }

    /// What to do after a window.
    struct Step: Sendable, Equatable {
        var apply: EngineSettings?
        var decision: TuningDecision?
    }

    enum Move: CaseIterable, Sendable {
        case fewerThreads, moreThreads, smallerBatch, largerBatch, fewerSlots, moreSlots, shorterSlice, longerSlice

        var setting: String {
            switch self {
            case .fewerThreads, .moreThreads: "threads"
            case .smallerBatch, .largerBatch: "batch"
            case .fewerSlots, .moreSlots: "active slots"
            case .shorterSlice, .longerSlice: "time slice"
            }
        }

        func applied(to s: EngineSettings) -> EngineSettings {
            var s = s
            switch self {
            case .fewerThreads: s.threads -= 1
            case .moreThreads: s.threads += 1
            case .smallerBatch: s.batchTokens /= 2
            case .largerBatch: s.batchTokens *= 2
            case .fewerSlots: s.activeSlots /= 2
            case .moreSlots: s.activeSlots *= 2
            case .shorterSlice: s.timeSlice = s.timeSlice.map { $0 / 2 }
            case .longerSlice: s.timeSlice = s.timeSlice.map { $0 * 2 }
            }
            return s
        }
    }

    enum Phase: Sendable, Equatable {
        case baseline
        case trial(Move, baseline: TuningMeasurement)
        /// The trial's first window passed; the next must pass too.
        case confirming(Move, baseline: TuningMeasurement)
        case resting(windowsLeft: Int)
    }

    private(set) var settings: EngineSettings
    let limits: EngineSettingLimits
    let policy: Policy
    private(set) var phase = Phase.baseline
    private var nextMove = 0
    private var failures = 0
    /// The settings before the last kept move: the opposite move is not tried straight after.
    private var leftBehind: EngineSettings?

    init(settings: EngineSettings, limits: EngineSettingLimits, policy: Policy = Policy()) {
        self.settings = settings.clamped(to: limits)
        self.limits = limits
        self.policy = policy
    }

    /// Where the search is, in words.
    var state: String {
        switch phase {
        case .baseline: "measuring the settings in force"
        case .trial(let move, _), .confirming(let move, _):
            "trying \(move.setting) \(TuningDecision.value(move.setting, move.applied(to: settings).clamped(to: limits)))"
        case .resting(let left): "settled; looking again in \(left) windows"
        }
    }

    mutating func observe(_ measured: TuningMeasurement?) -> Step {
        switch phase {
        case .trial(let move, let baseline), .confirming(let move, let baseline):
            guard let measured else {
                phase = .baseline
                return Step(apply: settings)
            }
            return judge(move, baseline: baseline, measured: measured)
        case .resting(let left):
            phase = left > 1 ? .resting(windowsLeft: left - 1) : .baseline
            if left <= 1 {
                failures = 0
                leftBehind = nil
            }
            return Step()
        case .baseline:
            guard let measured else { return Step() }
            return startTrial(baseline: measured)
        }
    }

    private mutating func startTrial(baseline: TuningMeasurement) -> Step {
        let moves = Move.allCases
        for _ in moves.indices {
            let move = moves[nextMove % moves.count]
            let trial = move.applied(to: settings).clamped(to: limits)
            if trial != settings, trial != leftBehind {
                phase = .trial(move, baseline: baseline)
                return Step(apply: trial)
            }
            nextMove += 1
            failures += 1
            if failures >= moves.count { break }
        }
        phase = .resting(windowsLeft: policy.restWindows)
        return Step()
    }

    private mutating func judge(_ move: Move, baseline: TuningMeasurement, measured: TuningMeasurement) -> Step {
        let trial = move.applied(to: settings).clamped(to: limits)
        let faster = measured.tokensPerSecond >= baseline.tokensPerSecond * (1 + policy.minimumGain)
        let noSlower = measured.tokensPerSecond >= baseline.tokensPerSecond * (1 - policy.latencyTolerance)
        let quicker = measured.p99Milliseconds <= baseline.p99Milliseconds * (1 - policy.minimumGain)
        let noLater = measured.p99Milliseconds <= baseline.p99Milliseconds * (1 + policy.latencyTolerance)
        let kept = (faster && noLater) || (quicker && noSlower)
        let confirming = if case .confirming = phase { true } else { false }
        if kept, !confirming {
            phase = .confirming(move, baseline: baseline)
            return Step()
        }
        let reason =
            if kept { faster ? "more tokens/s, p99 no worse" : "shorter p99 step, tokens/s no lower" }
            else if confirming { "the gain did not last a second window" }
            else if !noLater { "p99 step longer" }
            else if !noSlower { "fewer tokens/s" }
            else { "no clear gain" }
        let decision = TuningDecision(
            setting: move.setting, from: settings, to: trial, before: baseline, with: measured, kept: kept, reason: reason)
        if kept {
            leftBehind = settings
            settings = trial
            failures = 0
            // The same move again, from the new settings, against what it just measured.
            let next = startTrial(baseline: measured)
            return Step(apply: next.apply ?? settings, decision: decision)
        }
        failures += 1
        nextMove += 1
        phase = failures >= Move.allCases.count ? .resting(windowsLeft: policy.restWindows) : .baseline
        return Step(apply: settings, decision: decision)
    }
}
