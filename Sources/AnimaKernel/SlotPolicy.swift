import AnimaProcessor
import Synchronization

/// Chooses which generations hold the processor's slots for the next decode step; the
/// `Scheduler` turns its choice into preemptions and admissions.
///
/// The processor asks between steps, so a decision takes effect at a token boundary: a
/// running generation left out is preempted (its KV state saved), a waiting one chosen is
/// started or restored. Policies must be deterministic and quick: they run on the decode
/// thread, once per step.
public protocol SlotPolicy: Sendable {
    /// The ids that should run next, at most `slots` of them, from `candidates` (running
    /// and waiting generations, in no particular order).
    func choose(from candidates: [SlotCandidate], slots: Int) -> [UInt64]
}

/// First come, first served: a generation keeps its slot until it finishes; waiting ones
/// start in arrival order. This is what AIOS's FIFO scheduler does.
public struct FIFOPolicy: SlotPolicy {
    public init() {}

    public func choose(from candidates: [SlotCandidate], slots: Int) -> [UInt64] {
        let running = candidates.filter(\.isRunning).sorted { $0.arrival < $1.arrival }
        let waiting = candidates.filter { !$0.isRunning }.sorted { $0.arrival < $1.arrival }
        return Array((running + waiting).prefix(slots).map(\.id))
    }
}

/// Round robin with a time slice counted in tokens: when others wait, a generation that
/// has used its slice gives up its slot to the one that has waited longest.
///
/// Whole answers (`SlotCandidate.wholeAnswer`, a non-streamed API request) are a batch class
/// with a longer slice: a turn shows their readers nothing, so rotating two of them only
/// makes the one taken off later and costs a context switch. A whole answer whose slice has
/// run out gives its slot to a generation whose tokens someone watches, but keeps it against
/// waiting whole answers for `wholeAnswerSlices` slices (among them it is first come, first
/// served, by the steps each has waited since it arrived); past that, a long answer takes
/// turns with them, so a short request does not wait for every long one to finish. Streamed
/// generations take turns among themselves as before.
public struct RoundRobinPolicy: SlotPolicy {
    /// Shared by every copy of the policy, so the kernel's tuner can change the slice of
    /// the scheduler an engine already holds.
    private final class Slice: Sendable {
        let tokens: Atomic<Int>
        init(_ tokens: Int) { self.tokens = Atomic(tokens) }
    }
    private let slice: Slice

    public var quantum: Int { slice.tokens.load(ordering: .relaxed) }

    /// How many slices a whole answer runs before a waiting whole answer may take its slot.
    public static let wholeAnswerSlices = 16

    public init(quantum: Int) {
        precondition(quantum >= 1, "a time slice must be at least one token")
        slice = Slice(quantum)
    }

    /// Changes the time slice from the next decision on (at least one token).
    public func setQuantum(_ tokens: Int) { slice.tokens.store(max(1, tokens), ordering: .relaxed) }

    public func choose(from candidates: [SlotCandidate], slots: Int) -> [UInt64] {
        var waiting = candidates.filter { !$0.isRunning }.sorted(by: Self.longestWaitingFirst)[...]
        var chosen = candidates.filter { $0.isRunning && $0.tokensThisSlice < quantum }.sorted { $0.arrival < $1.arrival }
        let expired = candidates.filter { $0.isRunning && $0.tokensThisSlice >= quantum }.sorted { $0.arrival < $1.arrival }
        let open = max(0, slots - chosen.count)
        // Whole answers within their longer slice hold their slots against waiting whole
        // answers; the other open slots (free, or an expired slice's) go to the longest
        // waiting, and expired slices run on only where no one is waiting for their slot.
        let holds = { (c: SlotCandidate) in c.wholeAnswer && c.tokensThisSlice / Self.wholeAnswerSlices < quantum }
        let held = expired.filter(holds).prefix(open)
        let shared = open - held.count
        let admitted = waiting.prefix(shared)
        chosen += admitted
        waiting = waiting.dropFirst(shared)
        chosen += expired.filter { !holds($0) }.prefix(shared - admitted.count)
        // A streamed generation still waiting takes a held slot, from the latest arrival.
        let watched = waiting.filter { !$0.wholeAnswer }.prefix(held.count)
        chosen += watched + held.prefix(held.count - watched.count)
        return chosen.prefix(slots).map(\.id)
    }

    static func longestWaitingFirst(_ a: SlotCandidate, _ b: SlotCandidate) -> Bool {
        a.waitedSteps != b.waitedSteps ? a.waitedSteps > b.waitedSteps : a.arrival < b.arrival
    }
}

/// Highest priority first, with aging: every `agingSteps` decode steps spent waiting add
/// one to a generation's effective priority, so nothing starves. A waiting generation
/// takes a slot from a running one only when its effective priority is strictly higher.
public struct PriorityPolicy: SlotPolicy {
    public let agingSteps: Int

    public init(agingSteps: Int = 32) {
        precondition(agingSteps >= 1, "aging needs a positive step count")
        self.agingSteps = agingSteps
    }

    public func effectivePriority(_ c: SlotCandidate) -> Int {
        c.priority + (c.isRunning ? 0 : c.waitedSteps / agingSteps)
    }

    public func choose(from candidates: [SlotCandidate], slots: Int) -> [UInt64] {
        // Ties go to the running generation (no pointless switches), then to the earlier arrival.
        let ranked = candidates.sorted { a, b in
            let pa = effectivePriority(a), pb = effectivePriority(b)
            if pa != pb { return pa > pb }
            if a.isRunning != b.isRunning { return a.isRunning }
            return a.arrival < b.arrival
        }
        return ranked.prefix(slots).map(\.id)
    }
}
