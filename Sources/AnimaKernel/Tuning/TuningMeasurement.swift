import AnimaProcessor

/// What the live workload got from the engine in one window: generated tokens per second
/// of wall time, the 99th percentile of the gap between a generation's consecutive tokens
/// (a decode step, or longer where it waited off its slot for others' time slices), and of
/// the wait for a first token (how long a new request waited for a slot and for its prompt
/// to be read).
public struct TuningMeasurement: Sendable, Hashable, Codable {
    public var tokensPerSecond: Double
    public var gapP99Milliseconds: Double
    public var generatedTokens: Int
    /// Nil when no generation got its first token in the window.
    public var firstTokenP99Milliseconds: Double?
    /// Whether more generations wanted to run than were decoding: one gave up its slot in
    /// the window (a time slice ran out), or one was waiting for a slot at its end.
    public var crowded: Bool

    public init(
        tokensPerSecond: Double, gapP99Milliseconds: Double, generatedTokens: Int, firstTokenP99Milliseconds: Double? = nil, crowded: Bool = false
    ) {
        self.tokensPerSecond = tokensPerSecond
        self.gapP99Milliseconds = gapP99Milliseconds
        self.generatedTokens = generatedTokens
        self.firstTokenP99Milliseconds = firstTokenP99Milliseconds
        self.crowded = crowded
    }

    /// The better of two windows of the same settings, measure by measure: the baseline a
    /// trial must beat, so that one unlucky window (a burst just arrived) makes no move look good.
    func best(_ other: TuningMeasurement) -> TuningMeasurement {
        let first = [firstTokenP99Milliseconds, other.firstTokenP99Milliseconds].compactMap { $0 }.min()
        return TuningMeasurement(
            tokensPerSecond: max(tokensPerSecond, other.tokensPerSecond), gapP99Milliseconds: min(gapP99Milliseconds, other.gapP99Milliseconds),
            generatedTokens: max(generatedTokens, other.generatedTokens), firstTokenP99Milliseconds: first,
            crowded: crowded || other.crowded)
    }

    /// The window between two readings of an engine's statistics, `seconds` apart; nil
    /// when the engine generated fewer than `minimumTokens` in it (too little to judge).
    public static func between(
        _ earlier: EngineStatistics, _ later: EngineStatistics, seconds: Double, minimumTokens: Int
    ) -> TuningMeasurement? {
        let tokens = later.generatedTokens - earlier.generatedTokens
        guard seconds > 0, tokens >= max(1, minimumTokens),
            let p99 = later.tokenGaps.since(earlier.tokenGaps).quantile(0.99)
        else { return nil }
        return TuningMeasurement(
            tokensPerSecond: Double(tokens) / seconds, gapP99Milliseconds: p99, generatedTokens: tokens,
            firstTokenP99Milliseconds: later.firstTokenLatencies.since(earlier.firstTokenLatencies).quantile(0.99),
            crowded: later.preemptions > earlier.preemptions || later.waitingRequests > 0)
    }

    var summary: String {
        "\(Self.format(tokensPerSecond)) tokens/s, p99 token gap \(Self.format(gapP99Milliseconds)) ms"
            + (firstTokenP99Milliseconds.map { ", p99 first token \(Self.format($0)) ms" } ?? "")
    }

    static func format(_ x: Double) -> String {
        let tenths = (x * 10).rounded()
        return tenths.truncatingRemainder(dividingBy: 10) == 0 ? String(Int(tenths / 10)) : String(tenths / 10)
    }
}

/// One change the tuner tried, what it measured before and with it, and whether it kept it.
public struct TuningDecision: Sendable, Hashable, Codable {
    public var setting: String
    public var from: EngineSettings
    public var to: EngineSettings
    public var before: TuningMeasurement
    public var with: TuningMeasurement
    public var kept: Bool
    /// Why: which measure improved, or which got worse.
    public var reason: String

    /// One line for the audit log and `anima top`.
    public var summary: String {
        let values = "\(setting) \(Self.value(setting, from)) → \(Self.value(setting, to))"
        return "\(values): \(before.summary) before, \(with.summary) with it; \(kept ? "kept" : "reverted") (\(reason))"
    }

    static func value(_ setting: String, _ s: EngineSettings) -> Int {
        switch setting {
        case "threads": s.threads
        case "batch": s.batchTokens
        case "time slice": s.timeSlice ?? 0
        default: s.activeSlots
        }
    }
}
