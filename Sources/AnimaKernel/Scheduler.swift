import AnimaProcessor

/// The kernel's scheduler: decides which generations hold the processor's slots.
///
/// Policy in the kernel, mechanism in the processor. The engine keeps the books (its
/// `SlotTable`) and calls `plan` from its own decode thread between steps; the scheduler
/// asks its `SlotPolicy` who should run (first come first served, round robin with a time
/// slice, or priority with aging) and answers with the preemptions and admissions that
/// choice takes. `anima` gives every engine the kernel's scheduler at start-up; tests and
/// benchmarks that run an engine alone pass `Scheduler()` (first come, first served).
public struct Scheduler: SlotScheduler {
    /// Who runs: the policy chooses, the scheduler turns its choice into switches.
    public let policy: any SlotPolicy

    public init(policy: any SlotPolicy = FIFOPolicy()) {
        self.policy = policy
    }

    public var timeSlice: Int? { (policy as? RoundRobinPolicy)?.quantum }

    public func setTimeSlice(_ tokens: Int) { (policy as? RoundRobinPolicy)?.setQuantum(tokens) }

    public func plan(_ candidates: [SlotCandidate], occupants: [UInt64?], active: Int) -> SlotPlan {
        guard !candidates.isEmpty else { return SlotPlan() }
        // The policy shares the active slots only: with fewer active than there are slots, a
        // time slice still rotates the waiting in, rather than leaving them until a slot frees.
        let chosen = policy.choose(from: candidates, slots: max(0, min(active, occupants.count)))
        let chosenSet = Set(chosen)
        let waiting = Set(candidates.lazy.filter { !$0.isRunning }.map(\.id))
        let admitted = chosen.filter(waiting.contains)
        var plan = SlotPlan()
        // Those not chosen give up their slots; the chosen that wait take the lowest free ones, in order.
        var next = admitted.startIndex
        for (slot, occupant) in occupants.enumerated() {
            if let occupant {
                guard !chosenSet.contains(occupant) else { continue }
                plan.preempt.append(occupant)
            }
            if next < admitted.endIndex {
                plan.admit.append((admitted[next], slot))
                next += 1
            }
        }
        return plan
    }
}
