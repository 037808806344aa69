/// The settings of an engine that can change while it runs: the knobs the kernel's tuner
/// turns (`KernelTuner`), each within `EngineSettingLimits`.
public struct EngineSettings: Sendable, Hashable, Codable, CustomStringConvertible {
    /// CPU threads for decoding and reading prompts.
    public var threads: Int
    /// Prompt tokens read in one decode step at most (the rest of the batch is one token of
    /// each running generation): larger reads prompts faster, smaller keeps the steps of
    /// the generations already running short.
    public var batchTokens: Int
    /// Generations decoding at once at most (no more than the engine's slots); others wait.
    public var activeSlots: Int
    /// The scheduler's time slice in tokens, where its policy has one (round robin): longer
    /// switches less often, shorter lets waiting generations in sooner.
    public var timeSlice: Int?

    public init(threads: Int, batchTokens: Int, activeSlots: Int, timeSlice: Int? = nil) {
        self.threads = threads
        self.batchTokens = batchTokens
        self.activeSlots = activeSlots
        self.timeSlice = timeSlice
    }

    public var description: String {
        "threads \(threads), batch \(batchTokens) tokens, \(activeSlots) active slots" + (timeSlice.map { ", time slice \($0) tokens" } ?? "")
    }

    /// These settings with each one brought within `limits`.
    public func clamped(to limits: EngineSettingLimits) -> EngineSettings {
        EngineSettings(
            threads: min(max(threads, limits.threads.lowerBound), limits.threads.upperBound),
            batchTokens: min(max(batchTokens, limits.batchTokens.lowerBound), limits.batchTokens.upperBound),
            activeSlots: min(max(activeSlots, limits.activeSlots.lowerBound), limits.activeSlots.upperBound),
            timeSlice: timeSlice.map { min(max($0, limits.timeSlice.lowerBound), limits.timeSlice.upperBound) })
    }
}

/// The safe range of each engine setting: what the engine was built for (its slots, its
/// batch) and this machine's cores.
public struct EngineSettingLimits: Sendable, Hashable, Codable {
    public var threads: ClosedRange<Int>
    public var batchTokens: ClosedRange<Int>
    public var activeSlots: ClosedRange<Int>
    public var timeSlice: ClosedRange<Int>

    public init(
        threads: ClosedRange<Int>, batchTokens: ClosedRange<Int>, activeSlots: ClosedRange<Int>, timeSlice: ClosedRange<Int> = 4...1024
    ) {
        self.threads = threads
        self.batchTokens = batchTokens
        self.activeSlots = activeSlots
        self.timeSlice = timeSlice
    }
}

/// An engine whose settings can change between two decode steps.
public protocol TunableEngine: StatisticsReporting {
    /// The settings in force (or asked for, and in force from the next step).
    var settings: EngineSettings { get }
    var settingLimits: EngineSettingLimits { get }
    /// Applies `settings` (clamped to `settingLimits`) from the next decode step on.
    func apply(_ settings: EngineSettings)
}
