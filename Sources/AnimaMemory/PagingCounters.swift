import Synchronization

/// Pages moved by every pager of one memory system since it started, for metrics:
/// messages evicted from context windows (out) and records paged in for a generation (in).
public final class PagingCounters: Sendable {
    private let pagesIn = Atomic<Int>(0)
    private let pagesOut = Atomic<Int>(0)

    public init() {}

    public var pagedIn: Int { pagesIn.load(ordering: .relaxed) }
    public var pagedOut: Int { pagesOut.load(ordering: .relaxed) }

    func countIn(_ n: Int) { pagesIn.add(n, ordering: .relaxed) }
    func countOut(_ n: Int) { pagesOut.add(n, ordering: .relaxed) }
}
