import AnimaCore
import Synchronization

/// Every routing decision and what came of it: the most recent ones kept in memory, and
/// streams for callers that want each one as it happens (the kernel's audit log, `anima`
/// commands that show routing).
public final class DecisionLog: Sendable {
    private struct State {
        var events: [RoutingEvent] = []
        var dropped = 0
        var subscribers: [UInt64: AsyncStream<RoutingEvent>.Continuation] = [:]
        var nextSubscriber: UInt64 = 0
    }

    /// How many events are kept; older ones are dropped from memory (subscribers have them).
    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int = 10_000) {
        self.capacity = max(1, capacity)
    }

    /// The kept events, oldest first.
    public var events: [RoutingEvent] { state.withLock { $0.events } }

    /// The kept decisions, oldest first.
    public var decisions: [RoutingDecision] {
        events.compactMap { if case .decided(let d) = $0 { d } else { nil } }
    }

    /// The newest decision, if any is kept.
    public var latestDecision: RoutingDecision? {
        state.withLock { s in
            s.events.last { if case .decided = $0 { true } else { false } }.flatMap { if case .decided(let d) = $0 { d } else { nil } }
        }
    }

    /// The kept events of decision `id`: its decision, failovers, and how it ended.
    public func events(of id: UInt64) -> [RoutingEvent] {
        // A decision's events are among the newest: read back from the end to its `decided`,
        // rather than copying the whole log on every routed generation.
        state.withLock { s in
            var found: [RoutingEvent] = []
            for event in s.events.reversed() {
                if event.decision == id { found.append(event) }
                if case .decided(let decision) = event, decision.id == id { break }
            }
            return found.reversed()
        }
    }

    /// Events from now on. The stream ends when the caller stops reading it.
    public func subscribe(bufferingNewest limit: Int = 1000) -> AsyncStream<RoutingEvent> {
        let (stream, continuation) = AsyncStream<RoutingEvent>.makeStream(bufferingPolicy: .bufferingNewest(limit))
        let id = state.withLock { s in
            s.nextSubscriber += 1
            s.subscribers[s.nextSubscriber] = continuation
            return s.nextSubscriber
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Appends what the router did and tells the subscribers.
    public func record(_ event: RoutingEvent) {
        let subscribers = state.withLock { s in
            s.events.append(event)
            if s.events.count > capacity + capacity / 4 {
                // Trim in batches so that recording stays cheap.
                let excess = s.events.count - capacity
                s.events.removeFirst(excess)
                s.dropped += excess
            }
            return Array(s.subscribers.values)
        }
        for subscriber in subscribers { subscriber.yield(event) }
    }
}
