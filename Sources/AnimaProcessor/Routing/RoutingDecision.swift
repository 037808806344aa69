import AnimaCore
import Foundation

/// Which processor the router chose for one request, the ones it would fall back to, the
/// ones it ruled out and why. It holds no prompt text and no credential, so it can be
/// kept and shown freely.
public struct RoutingDecision: Sendable, Hashable {
    /// A candidate ruled out, and why.
    public struct Exclusion: Sendable, Hashable, CustomStringConvertible {
        public var candidate: String
        public var reason: String
        public var description: String { "\(candidate): \(reason)" }

        public init(candidate: String, reason: String) {
            self.candidate = candidate
            self.reason = reason
        }
    }

    public var id: UInt64
    public var date: Date
    public var taskClass: TaskClass
    public var privacy: PrivacyLabel
    /// Whether the privacy rule confined the request to this machine.
    public var staysLocal: Bool
    /// The candidates to try, in order; the first is the choice.
    public var order: [String]
    public var excluded: [Exclusion]
    /// Local candidates that were busy and so moved behind the others.
    public var deferred: [String]
    public var estimatedPromptTokens: Int
    /// The estimated charge of the chosen candidate, in US dollars.
    public var estimatedCost: Double
    /// The decision in one sentence.
    public var reason: String

    public var chosen: String { order[0] }

    public init(
        id: UInt64, date: Date, taskClass: TaskClass, privacy: PrivacyLabel, staysLocal: Bool, order: [String], excluded: [Exclusion],
        deferred: [String], estimatedPromptTokens: Int, estimatedCost: Double, reason: String
    ) {
        self.id = id
        self.date = date
        self.taskClass = taskClass
        self.privacy = privacy
        self.staysLocal = staysLocal
        self.order = order
        self.excluded = excluded
        self.deferred = deferred
        self.estimatedPromptTokens = estimatedPromptTokens
        self.estimatedCost = estimatedCost
        self.reason = reason
    }
}

/// Something the router did, in the order it happened; see `DecisionLog`.
public enum RoutingEvent: Sendable, Hashable, CustomStringConvertible {
    case decided(RoutingDecision)
    /// A candidate failed before answering, and the next one (if any) takes over.
    case failedOver(decision: UInt64, from: String, to: String?, error: String)
    case completed(decision: UInt64, servedBy: String, usage: Usage, cost: Double)
    case failed(decision: UInt64, error: String)
    case rewarded(decision: UInt64?, taskClass: TaskClass, candidate: String, reward: Double)

    /// The decision the event belongs to (nil for a reward given without one; 0 for a
    /// request that no processor could take).
    public var decision: UInt64? {
        switch self {
        case .decided(let d): d.id
        case .failedOver(let id, _, _, _), .completed(let id, _, _, _), .failed(let id, _): id
        case .rewarded(let id, _, _, _): id
        }
    }

    public var description: String {
        switch self {
        case .decided(let d):
            "#\(d.id) \(d.taskClass), \(d.privacy) → \(d.chosen): \(d.reason)"
        case .failedOver(let id, let from, let to, let error):
            "#\(id) \(from) failed (\(error))" + (to.map { "; trying \($0)" } ?? "; nothing left to try")
        case .completed(let id, let servedBy, let usage, let cost):
            "#\(id) served by \(servedBy): \(usage.promptTokens)+\(usage.completionTokens) tokens, $\(String(format: "%.6f", cost))"
        case .failed(let id, let error):
            "#\(id) failed: \(error)"
        case .rewarded(let id, let taskClass, let candidate, let reward):
            "\(id.map { "#\($0) " } ?? "")\(taskClass) reward \(reward) for \(candidate)"
        }
    }
}
