/// Which generations hold a processor's slots, which wait, and how long each has run or
/// waited: the books a `SlotScheduler` decides from.
///
/// A value type with no clock of its own: time is counted in decode steps, so the same
/// sequence of events always yields the same schedule. `LlamaEngine` and
/// `ScriptedProcessor` both keep one; the scheduler only reads it, through `plan`.
public struct SlotTable: Sendable {
    public enum State: Equatable, Sendable {
        /// Wants a slot.
        case ready
        case running(slot: Int)
        /// Stopped on request; not a candidate until resumed.
        case suspended
    }

    public struct Entry: Sendable {
        public var priority: Int
        public var arrival: UInt64
        public var state: State
        public var tokensThisSlice = 0
        /// Steps waited since it last ran; for a whole answer, since it arrived.
        public var waitedSteps = 0
        /// Its reader takes the answer only whole (see `SlotCandidate.wholeAnswer`).
        public var wholeAnswer = false
        /// The step it last ran in; smaller means less recently run.
        public var lastRunStep: UInt64 = 0
    }

    public let slotCount: Int
    public private(set) var entries: [UInt64: Entry] = [:]
    public private(set) var occupants: [UInt64?]
    public private(set) var step: UInt64 = 0
    private var arrivals: UInt64 = 0

    public init(slots: Int) {
        slotCount = slots
        occupants = Array(repeating: nil, count: slots)
    }

    /// The generations holding a slot, in slot order.
    public var runningIDs: [UInt64] { occupants.compactMap { $0 } }
    /// Whether some generation holds a slot or wants one.
    public var hasWork: Bool { entries.values.contains { $0.state != .suspended } }
    public var readyCount: Int { entries.values.filter { $0.state == .ready }.count }
    public var suspendedCount: Int { entries.values.filter { $0.state == .suspended }.count }
    public var freeSlots: Int { occupants.filter { $0 == nil }.count }

    public func slot(of id: UInt64) -> Int? {
        if case .running(let slot)? = entries[id]?.state { return slot }
        return nil
    }

    public mutating func add(_ id: UInt64, priority: Int, wholeAnswer: Bool = false) {
        arrivals += 1
        entries[id] = Entry(priority: priority, arrival: arrivals, state: .ready, wholeAnswer: wholeAnswer)
    }

    public mutating func setPriority(_ id: UInt64, _ priority: Int) {
        entries[id]?.priority = priority
    }

    /// Forgets a generation, freeing its slot.
    public mutating func remove(_ id: UInt64) {
        if let slot = slot(of: id) { occupants[slot] = nil }
        entries[id] = nil
    }

    /// Takes a generation off its slot (or out of the queue) until `resume`.
    public mutating func suspend(_ id: UInt64) {
        if let slot = slot(of: id) { occupants[slot] = nil }
        entries[id]?.state = .suspended
    }

    public mutating func resume(_ id: UInt64) {
        guard entries[id]?.state == .suspended else { return }
        entries[id]?.state = .ready
        entries[id]?.waitedSteps = 0
    }

    /// Asks `scheduler` who runs next, on at most `active` slots, and returns the switches that makes.
    public func plan(_ scheduler: any SlotScheduler, active: Int = .max) -> SlotPlan {
        let candidates = entries.compactMap { id, e -> SlotCandidate? in
            switch e.state {
            case .suspended: return nil
            case .ready:
                return SlotCandidate(
                    id: id, priority: e.priority, arrival: e.arrival, isRunning: false, tokensThisSlice: 0, waitedSteps: e.waitedSteps,
                    wholeAnswer: e.wholeAnswer)
            case .running:
                return SlotCandidate(
                    id: id, priority: e.priority, arrival: e.arrival, isRunning: true, tokensThisSlice: e.tokensThisSlice, waitedSteps: 0,
                    wholeAnswer: e.wholeAnswer)
            }
        }.sorted { $0.arrival < $1.arrival }
        guard !candidates.isEmpty else { return SlotPlan() }
        return scheduler.plan(candidates, occupants: occupants, active: min(active, occupants.count))
    }

    /// Records that `plan` was carried out (those preempted are ready again: a streamed
    /// generation waits from now, a whole answer goes on counting from its arrival).
    public mutating func apply(_ plan: SlotPlan) {
        for id in plan.preempt {
            if let slot = slot(of: id) { occupants[slot] = nil }
            entries[id]?.state = .ready
            if entries[id]?.wholeAnswer == false { entries[id]?.waitedSteps = 0 }
        }
        for (id, slot) in plan.admit {
            occupants[slot] = id
            entries[id]?.state = .running(slot: slot)
            entries[id]?.tokensThisSlice = 0
        }
    }

    /// One token for `id` in the current step.
    public mutating func recordToken(_ id: UInt64) {
        entries[id]?.tokensThisSlice += 1
    }

    /// Ends a step: waiting generations age, running ones are marked as run now.
    public mutating func finishStep() {
        step += 1
        for i in entries.values.indices {
            switch entries.values[i].state {
            case .ready: entries.values[i].waitedSteps += 1
            case .running: entries.values[i].lastRunStep = step
            case .suspended: break
            }
        }
    }
}
