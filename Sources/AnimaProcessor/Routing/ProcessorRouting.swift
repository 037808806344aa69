import AnimaCore

/// A processor that chooses, per request, which of several processors serves it.
///
/// The kernel reaches a router through `LanguageModel.routing` rather than a downcast, so
/// it needs no import of the router's implementation (`ProcessorRouter` in
/// AnimaProviders): it records each decision and what came of it in the audit log, keeps
/// memory work on this machine, and lets an API request name a candidate.
public protocol ProcessorRouting: Sendable {
    /// The processors a request may go to; a request names one by its `id` to pin it.
    var candidates: [RouteCandidate] { get }
    /// The rules the router follows.
    var policy: RouterPolicy { get }
    /// Every decision and what came of it.
    var log: DecisionLog { get }

    /// Decides where `request` goes and starts it there.
    func route(_ request: GenerationRequest) throws(RouterError) -> RoutedGeneration
}

/// A routed generation: the decision that placed it, and its events.
public struct RoutedGeneration: Sendable {
    public let decision: RoutingDecision
    public let events: AsyncThrowingStream<GenerationEvent, any Error>

    public init(decision: RoutingDecision, events: AsyncThrowingStream<GenerationEvent, any Error>) {
        self.decision = decision
        self.events = events
    }
}
