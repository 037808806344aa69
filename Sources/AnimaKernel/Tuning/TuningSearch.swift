import AnimaProcessor

/// The tuner's search, without clocks or engines: fed one measurement per window, it says
/// which settings to run next and what it decided.
///
/// A hill climb, one setting at a time: measure the settings in force (baseline windows),
/// try one move (threads one fewer or more; batch, active slots or time slice halved or
/// doubled, within their limits) for a window, and keep it only when, against the better of
/// the settings' last two windows, throughput rose by
/// `minimumGain` with neither latency (the p99 token gap, the p99 wait for a first token) more
/// than `latencyTolerance` worse, or one latency fell by `minimumGain` with the other and
/// throughput no more than `latencyTolerance` worse, in that window and again in the next
/// (one lucky window of a bursty workload is not a gain); otherwise go back, and let one
/// window pass before measuring again (it still carries the trial's backlog). A gain must
/// also be larger than the noise: how much two windows of the same settings differed lately
/// (`Noise`). A kept move is tried again in the same direction, and its opposite not straight
/// after. Where generations waited for a slot (a crowded window), more active slots are
/// tried first; elsewhere they are not tried (with every generation running, more would
/// change nothing).
/// Where two windows of the same settings differ by more than `maximumNoise`, no trial could
/// be judged, and the search rests rather than pay for trials (it keeps measuring the noise).
/// When every move has failed in a row, the search rests for `restWindows` windows,
/// then looks again (the workload may have changed). A window with too
/// little work (nil) judges nothing: a trial under way is abandoned and the baseline restored.
struct TuningSearch: Sendable {
    struct Policy: Sendable {
        var minimumGain = 0.05
        var latencyTolerance = 0.05
        var restWindows = 15
        /// Two windows of the same settings differing by more than this in tokens/s: no
        /// window can judge a setting, so the search rests rather than pay for trials.
        var maximumNoise = 0.5
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
        case confirming(Move, baseline: TuningMeasurement, first: TuningMeasurement)
        case resting(windowsLeft: Int)
        /// A trial was reverted: the window after it still carries what the trial left
        /// behind (requests it slowed, queued), so it is not taken as a baseline.
        case settling
    }

    private(set) var settings: EngineSettings
    let limits: EngineSettingLimits
    let policy: Policy
    private(set) var phase = Phase.baseline
    private var nextMove = 0
    private var failures = 0
    /// The settings before the last kept move: the opposite move is not tried straight after.
    private var leftBehind: EngineSettings?
    /// More active slots, tried out of turn because generations waited, and reverted: not
    /// tried out of turn again until the search has rested.
    private var crowdedTrialFailed: EngineSettings?
    /// The last window measured while resting.
    private var lastResting: TuningMeasurement?
    /// The last baseline window and the settings it measured.
    private var lastBaseline: (settings: EngineSettings, measured: TuningMeasurement)?
    /// How much two windows of the same settings differed lately, relative, per measure: a
    /// gain must be larger than this to count.
    private(set) var noise = Noise()

    struct Noise: Sendable, Equatable {
        /// How many pairs of windows the estimate remembers.
        static let memory = 8
        private var tokenDifferences: [Double] = []
        private var gapDifferences: [Double] = []
        private var firstTokenDifferences: [Double] = []

        /// The largest relative difference of the pairs remembered, per measure.
        var tokens: Double { tokenDifferences.max() ?? 0 }
        var gaps: Double { gapDifferences.max() ?? 0 }
        var firstToken: Double { firstTokenDifferences.max() ?? 0 }

        /// Folds in two windows of the same settings.
        mutating func observe(_ a: TuningMeasurement, _ b: TuningMeasurement) {
            func remember(_ x: Double, _ y: Double, in differences: inout [Double]) {
                differences.append(min(x, y) > 0 ? abs(x - y) / min(x, y) : 0)
                if differences.count > Self.memory { differences.removeFirst() }
            }
            remember(a.tokensPerSecond, b.tokensPerSecond, in: &tokenDifferences)
            remember(a.gapP99Milliseconds, b.gapP99Milliseconds, in: &gapDifferences)
            if let x = a.firstTokenP99Milliseconds, let y = b.firstTokenP99Milliseconds {
                remember(x, y, in: &firstTokenDifferences)
            }
        }
    }

    init(settings: EngineSettings, limits: EngineSettingLimits, policy: Policy = Policy()) {
        self.settings = settings.clamped(to: limits)
        self.limits = limits
        self.policy = policy
    }

    /// Where the search is, in words.
    var state: String {
        switch phase {
        case .baseline: "measuring the settings in force"
        case .trial(let move, _), .confirming(let move, _, _):
            "trying \(move.setting) \(TuningDecision.value(move.setting, move.applied(to: settings).clamped(to: limits)))"
        case .resting(let left) where noise.tokens > policy.maximumNoise:
            "the windows differ too much to judge a setting (tokens/s ±\(Self.percent(noise.tokens))); looking again in \(left) windows"
        case .resting(let left): "settled; looking again in \(left) windows"
        case .settling: "letting the load settle after a reverted trial"
        }
    }

    mutating func observe(_ measured: TuningMeasurement?) -> Step {
        switch phase {
        case .trial(let move, let baseline), .confirming(let move, let baseline, _):
            guard let measured else {
                phase = .baseline
                return Step(apply: settings)
            }
            return judge(move, baseline: baseline, measured: measured)
        case .settling:
            phase = .baseline
            return Step()
        case .resting(let left):
            // Resting windows run the same settings: how much they differ is noise too.
            if let measured {
                if let previous = lastResting { noise.observe(previous, measured) }
                lastResting = measured
            }
            phase = left > 1 ? .resting(windowsLeft: left - 1) : .baseline
            if left <= 1 {
                failures = 0
                leftBehind = nil
                crowdedTrialFailed = nil
            }
            return Step()
        case .baseline:
            guard let measured else { return Step() }
            guard let last = lastBaseline else {
                // The very first window: measure the settings once more before any trial, so
                // the noise between two windows is known from the start.
                lastBaseline = (settings, measured)
                return Step()
            }
            guard last.settings == settings else { return startTrial(baseline: measured) }
            noise.observe(last.measured, measured)
            if noise.tokens > policy.maximumNoise {
                lastBaseline = (settings, measured)
                rest()
                return Step()
            }
            return startTrial(baseline: measured, against: last.measured.best(measured))
        }
    }

    /// Starts the next trial after `latest`, judged `against` the best of the settings'
    /// latest windows. Where generations waited for a slot, more active slots go first.
    private mutating func startTrial(baseline latest: TuningMeasurement, against baseline: TuningMeasurement? = nil) -> Step {
        lastBaseline = (settings, latest)
        let baseline = baseline ?? latest
        let moves = Move.allCases
        let raised = Move.moreSlots.applied(to: settings).clamped(to: limits)
        if baseline.crowded, raised != settings, raised != leftBehind, raised != crowdedTrialFailed {
            phase = .trial(.moreSlots, baseline: baseline)
            return Step(apply: raised)
        }
        for _ in moves.indices {
            let move = moves[nextMove % moves.count]
            let trial = move.applied(to: settings).clamped(to: limits)
            // More active slots change nothing while every generation that wants one has one.
            if trial != settings, trial != leftBehind, move != .moreSlots || baseline.crowded {
                phase = .trial(move, baseline: baseline)
                return Step(apply: trial)
            }
            nextMove += 1
            failures += 1
            if failures >= moves.count { break }
        }
        rest()
        return Step()
    }

    private mutating func rest() {
        phase = .resting(windowsLeft: policy.restWindows)
        lastResting = nil
    }

    private mutating func judge(_ move: Move, baseline: TuningMeasurement, measured: TuningMeasurement) -> Step {
        let trial = move.applied(to: settings).clamped(to: limits)
        // A gain counts when it is larger than `minimumGain` and than the noise between windows.
        let (gain, tolerance) = (policy.minimumGain, policy.latencyTolerance)
        let faster = measured.tokensPerSecond > baseline.tokensPerSecond * (1 + max(gain, noise.tokens))
        let noSlower = measured.tokensPerSecond >= baseline.tokensPerSecond * (1 - tolerance)
        let quickerGaps = measured.gapP99Milliseconds * (1 + max(gain, noise.gaps)) < baseline.gapP99Milliseconds
        let gapsNoLater = measured.gapP99Milliseconds <= baseline.gapP99Milliseconds * (1 + tolerance)
        // The wait for a first token, wherever the baseline measured one: a move that
        // shortens the gaps by making new requests wait longer (a smaller batch, fewer
        // active slots) gains nothing a user feels, and one after which no new request got
        // its first token at all may have shut them out.
        let (firstNoLater, firstQuicker): (Bool, Bool) =
            switch (baseline.firstTokenP99Milliseconds, measured.firstTokenP99Milliseconds) {
            case (let before?, let with?): (with <= before * (1 + tolerance), with * (1 + max(gain, noise.firstToken)) < before)
            case (.some, nil): (false, false)
            case (nil, _): (true, false)
            }
        let noLater = gapsNoLater && firstNoLater
        let kept = (faster && noLater) || (noSlower && ((quickerGaps && firstNoLater) || (firstQuicker && gapsNoLater)))
        // The trial's two windows ran the same settings: how much they differ is noise too.
        var confirming = false
        if case .confirming(_, _, let first) = phase {
            confirming = true
            noise.observe(first, measured)
        }
        if kept, !confirming {
            phase = .confirming(move, baseline: baseline, first: measured)
            return Step()
        }
        let reason: String
        if kept {
            reason =
                faster
                ? "more tokens/s, p99 no worse"
                : quickerGaps && firstNoLater
                    ? "shorter p99 token gap, tokens/s no lower" : "shorter p99 wait for a first token, tokens/s no lower"
        } else if confirming {
            reason = "the gain did not last a second window"
        } else if !gapsNoLater {
            reason = "p99 token gap longer"
        } else if !firstNoLater {
            reason = measured.firstTokenP99Milliseconds == nil ? "no new request got its first token" : "p99 wait for a first token longer"
        } else if !noSlower {
            reason = "fewer tokens/s"
        } else if max(noise.tokens, noise.gaps, noise.firstToken) > gain {
            let n = (Self.percent(noise.tokens), Self.percent(noise.gaps), Self.percent(noise.firstToken))
            reason = "no gain larger than the noise between windows (tokens/s ±\(n.0), p99 token gap ±\(n.1), first token ±\(n.2))"
        } else {
            reason = "no clear gain"
        }
        let decision = TuningDecision(
            setting: move.setting, from: settings, to: trial, before: baseline, with: measured, kept: kept, reason: reason)
        if kept {
            leftBehind = settings
            settings = trial
            failures = 0
            // The same move again, from the new settings, against the better of its two windows.
            let first: TuningMeasurement? = if case .confirming(_, _, let first) = phase { first } else { nil }
            let next = startTrial(baseline: measured, against: first.map { $0.best(measured) })
            return Step(apply: next.apply ?? settings, decision: decision)
        }
        failures += 1
        // A move tried out of turn (more slots, for a crowded window) leaves the turn where it was.
        if move == .moreSlots, Move.allCases[nextMove % Move.allCases.count] != .moreSlots {
            crowdedTrialFailed = trial
        } else {
            nextMove += 1
        }
        if failures >= Move.allCases.count { rest() } else { phase = .settling }
        return Step(apply: settings, decision: decision)
    }

    static func percent(_ x: Double) -> String { "\(Int((x * 100).rounded()))%" }
}
