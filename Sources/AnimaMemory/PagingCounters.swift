import AnimaStorage
import Synchronization

/// Pages moved by every pager of one memory system since it started, for metrics:
/// messages evicted from context windows (out) and records paged in for a generation (in).
public final class PagingCounters: Sendable {
    private let pagesIn = Atomic<Int>(0)
    private let pagesOut = Atomic<Int>(0)
    private let events = Atomic<Int>(0)
    private let byReason = Mutex([Int](repeating: 0, count: RankingReasons.all.count))
    private let skipped = Atomic<Int>(0)

    public init() {}

    public var pagedIn: Int { pagesIn.load(ordering: .relaxed) }
    public var pagedOut: Int { pagesOut.load(ordering: .relaxed) }

    /// Page-in decisions made (one per generation that looked in storage).
    public var pageInEvents: Int { events.load(ordering: .relaxed) }
    /// Candidates left out (over the budget, or not relevant).
    public var candidatesLeftOut: Int { skipped.load(ordering: .relaxed) }

    /// The names of the ranking reasons pages are counted by, in `pagedInByReason` order.
    public static let reasons = RankingReasons.all.map(\.name)

    /// Pages brought in for each ranking reason (a page counts once per reason it has).
    public var pagedInByReason: [(reason: String, pages: Int)] {
        let counts = byReason.withLock { $0 }
        return zip(Self.reasons, counts).map { ($0, $1) }
    }

    func countIn(_ n: Int) { pagesIn.add(n, ordering: .relaxed) }

    func countEvent(_ event: PageInEvent) {
        events.add(1, ordering: .relaxed)
        skipped.add(event.decisions.count - event.paged.count, ordering: .relaxed)
        byReason.withLock { counts in
            for decision in event.paged {
                for (i, name) in Self.reasons.enumerated() where decision.reasons.contains(name) { counts[i] += 1 }
            }
        }
    }
    func countOut(_ n: Int) { pagesOut.add(n, ordering: .relaxed) }
}
