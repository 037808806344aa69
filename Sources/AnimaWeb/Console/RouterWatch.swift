import AnimaProcessor
import Foundation

/// What the router decided, with each decision's latency: the router's log keeps what it
/// decided and what came of it, and this notes when each outcome arrived. Latencies are
/// known for requests finished while the console runs.
public actor RouterWatch {
    /// One decision and what came of it.
    public struct Outcome: Sendable, Equatable {
        public var id: UInt64
        public var date: Date
        public var chosen: String
        public var taskClass: String
        public var reason: String
        public var servedBy: String?
        public var cost: Double?
        public var tokens: Int?
        public var seconds: Double?
        public var failed: String?
    }

    static let capacity = 500
    private var outcomes: [UInt64: Outcome] = [:]
    private var order: [UInt64] = []
    private var listener: Task<Void, Never>?

    public init() {}

    /// Reads what `routing` decided before now, and listens for what comes.
    public func listen(to routing: any ProcessorRouting) {
        guard listener == nil else { return }
        let stream = routing.log.subscribe()
        for event in routing.log.events { note(event, at: nil) }
        listener = Task { [weak self] in
            for await event in stream { await self?.note(event, at: Date()) }
        }
    }

    /// Newest first.
    public func recent() -> [Outcome] { order.reversed().compactMap { outcomes[$0] } }

    func note(_ event: RoutingEvent, at time: Date?) {
        switch event {
        case .decided(let d):
            guard outcomes[d.id] == nil else { return }
            order.append(d.id)
            if order.count > Self.capacity { outcomes[order.removeFirst()] = nil }
            outcomes[d.id] = Outcome(
                id: d.id, date: d.date, chosen: d.chosen, taskClass: "\(d.taskClass)", reason: d.reason, servedBy: nil, cost: nil,
                tokens: nil, seconds: nil, failed: nil)
        case .completed(let id, let servedBy, let usage, let cost):
            guard var o = outcomes[id], o.servedBy == nil else { return }
            o.servedBy = servedBy
            o.cost = cost
            o.tokens = usage.totalTokens
            if let time { o.seconds = max(0, time.timeIntervalSince(o.date)) }
            outcomes[id] = o
        case .failed(let id, let error):
            outcomes[id]?.failed = error
        case .failedOver, .rewarded:
            break
        }
    }
}
