/// Decides which generations hold a processor's slots for the next decode step.
///
/// Policy in the kernel, mechanism in the processor: the kernel's `Scheduler` conforms
/// (priorities, aging, time slices, preemption), and an engine hands it its `SlotTable`'s
/// candidates between steps, then carries out the plan it gets back. The engine calls it
/// synchronously from its own decode thread, once per step, so a decision costs no actor
/// hop; a conforming type must be deterministic and quick.
public protocol SlotScheduler: Sendable {
    /// The switches to make before the next step.
    /// - Parameters:
    ///   - candidates: the running and waiting generations (suspended ones are not
    ///     candidates), in arrival order.
    ///   - occupants: who holds each slot now, by slot number; nil for a free slot.
    ///   - active: how many generations may decode at once (the engine's active slots, at
    ///     most `occupants.count`): running generations beyond it give up their slots.
    func plan(_ candidates: [SlotCandidate], occupants: [UInt64?], active: Int) -> SlotPlan

    /// The time slice in tokens, for a policy that has one (round robin); nil otherwise.
    var timeSlice: Int? { get }
    /// Changes the time slice from the next plan on; a scheduler without one ignores it.
    func setTimeSlice(_ tokens: Int)
}

extension SlotScheduler {
    public var timeSlice: Int? { nil }
    public func setTimeSlice(_ tokens: Int) {}

    /// The plan with every slot active.
    public func plan(_ candidates: [SlotCandidate], occupants: [UInt64?]) -> SlotPlan {
        plan(candidates, occupants: occupants, active: occupants.count)
    }
}

/// What to do before the next step: a scheduler's answer.
public struct SlotPlan: Sendable, Equatable {
    /// Running generations to take off their slots (their state is saved first).
    public var preempt: [UInt64]
    /// Waiting generations to put on slots, with the slot each gets.
    public var admit: [(id: UInt64, slot: Int)]

    public init(preempt: [UInt64] = [], admit: [(id: UInt64, slot: Int)] = []) {
        self.preempt = preempt
        self.admit = admit
    }

    public static func == (a: SlotPlan, b: SlotPlan) -> Bool {
        a.preempt == b.preempt && a.admit.map(\.id) == b.admit.map(\.id) && a.admit.map(\.slot) == b.admit.map(\.slot)
    }
}
