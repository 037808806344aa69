import AnimaProcessor

/// What the live workload got from the engine in one window: generated tokens per second
/// of wall time, the 99th percentile of a decode step's duration (how long a running
/// generation waited for its next token), and of the wait for a first token (how long a new
/// request waited for a slot and for its prompt to be read).
public struct TuningMeasurement: Sendable, Hashable, Codable {
    public var tokensPerSecond: Double
    public var p99Milliseconds: Double
    public var generatedTokens: Int
    /// Nil when no generation got its first token in the window.
    public var firstTokenP99Milliseconds: Double?

    public init(tokensPerSecond: Double, p99Milliseconds: Double, generatedTokens: Int, firstTokenP99Milliseconds: Double? = nil) {
        self.tokensPerSecond = tokensPerSecond
        self.p99Milliseconds = p99Milliseconds
        self.generatedTokens = generatedTokens
        self.firstTokenP99Milliseconds = firstTokenP99Milliseconds
    }

    /// The window between two readings of an engine's statistics, `seconds` apart; nil
    /// when the engine generated fewer than `minimumTokens` in it (too little to judge).
    public static func between(
        _ earlier: EngineStatistics, _ later: EngineStatistics, seconds: Double, minimumTokens: Int
    ) -> TuningMeasurement? {
        let tokens = later.generatedTokens - earlier.generatedTokens
        guard seconds > 0, tokens >= max(1, minimumTokens),
            let p99 = later.stepLatencies.since(earlier.stepLatencies).quantile(0.99)
        else { return nil }
        return TuningMeasurement(
            tokensPerSecond: Double(tokens) / seconds, p99Milliseconds: p99, generatedTokens: tokens,
            firstTokenP99Milliseconds: later.firstTokenLatencies.since(earlier.firstTokenLatencies).quantile(0.99))
    }

    var summary: String {
        "\(Self.format(tokensPerSecond)) tokens/s, p99 step \(Self.format(p99Milliseconds)) ms"
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
