/// Which generations hold a processor's slots, which wait, and how long each has run or
/// waited: the state a `SlotPolicy` decides from.
///
/// A value type with no clock of its own: time is counted in decode steps, so the same
/// sequence of events always yields the same schedule. `LlamaEngine` and
/// `ScriptedProcessor` both keep one.
package struct SlotTable {
    package enum State: Equatable {
        /// Wants a slot.
        case ready
        case running(slot: Int)
        /// Stopped on request; not a candidate until resumed.
        case suspended
    }

    package struct Entry {
        var priority: Int
        var arrival: UInt64
        package var state: State
        var tokensThisSlice = 0
        var waitedSteps = 0
        /// The step it last ran in; smaller means less recently run.
        var lastRunStep: UInt64 = 0
    }

    /// What to do before the next step.
    package struct Plan: Equatable {
        /// Running generations to take off their slots (save their state first).
        var preempt: [UInt64] = []
        /// Generations to put on slots, with the slot each gets.
        package var admit: [(id: UInt64, slot: Int)] = []

        package static func == (a: Plan, b: Plan) -> Bool {
            a.preempt == b.preempt && a.admit.map(\.id) == b.admit.map(\.id) && a.admit.map(\.slot) == b.admit.map(\.slot)
        }
    }

    let slotCount: Int
    package private(set) var entries: [UInt64: Entry] = [:]
    private(set) var occupants: [UInt64?]
    package private(set) var step: UInt64 = 0
    private var arrivals: UInt64 = 0

    package init(slots: Int) {
        slotCount = slots
        occupants = Array(repeating: nil, count: slots)
    }

    package var runningIDs: [UInt64] { occupants.compactMap { $0 } }
    package var readyCount: Int { entries.values.filter { $0.state == .ready }.count }
    var suspendedCount: Int { entries.values.filter { $0.state == .suspended }.count }
    var freeSlots: Int { occupants.filter { $0 == nil }.count }

    package func slot(of id: UInt64) -> Int? {
        if case .running(let slot)? = entries[id]?.state { return slot }
        return nil
    }

    package mutating func add(_ id: UInt64, priority: Int) {
        arrivals += 1
        entries[id] = Entry(priority: priority, arrival: arrivals, state: .ready)
    }

    package mutating func setPriority(_ id: UInt64, _ priority: Int) {
        entries[id]?.priority = priority
    }

    /// Forgets a generation, freeing its slot.
    package mutating func remove(_ id: UInt64) {
        if let slot = slot(of: id) { occupants[slot] = nil }
        entries[id] = nil
    }

    /// Takes a generation off its slot (or out of the queue) until `resume`.
    package mutating func suspend(_ id: UInt64) {
        if let slot = slot(of: id) { occupants[slot] = nil }
        entries[id]?.state = .suspended
    }

    package mutating func resume(_ id: UInt64) {
        guard entries[id]?.state == .suspended else { return }
        entries[id]?.state = .ready
        entries[id]?.waitedSteps = 0
    }

    /// Asks `policy` who runs next and returns the switches that makes.
    package func plan(_ policy: any SlotPolicy) -> Plan {
        let candidates = entries.compactMap { id, e -> SlotCandidate? in
            switch e.state {
            case .suspended: return nil
            case .ready:
                return SlotCandidate(id: id, priority: e.priority, arrival: e.arrival, isRunning: false, tokensThisSlice: 0, waitedSteps: e.waitedSteps)
            case .running:
                return SlotCandidate(id: id, priority: e.priority, arrival: e.arrival, isRunning: true, tokensThisSlice: e.tokensThisSlice, waitedSteps: 0)
            }
        }.sorted { $0.arrival < $1.arrival }
        guard !candidates.isEmpty else { return Plan() }
        let chosen = policy.choose(from: candidates, slots: slotCount)
        let chosenSet = Set(chosen)
        var plan = Plan()
        var free: [Int] = []
        for (slot, occupant) in occupants.enumerated() {
            if let occupant, !chosenSet.contains(occupant) {
                plan.preempt.append(occupant)
                free.append(slot)
            } else if occupant == nil {
                free.append(slot)
            }
        }
        free.sort()
        for id in chosen where slot(of: id) == nil && entries[id]?.state == .ready {
            guard !free.isEmpty else { break }
            plan.admit.append((id, free.removeFirst()))
        }
        return plan
    }

    /// Records that `plan` was carried out (those preempted are ready again).
    package mutating func apply(_ plan: Plan) {
        for id in plan.preempt {
            if let slot = slot(of: id) { occupants[slot] = nil }
            entries[id]?.state = .ready
            entries[id]?.waitedSteps = 0
        }
        for (id, slot) in plan.admit {
            occupants[slot] = id
            entries[id]?.state = .running(slot: slot)
            entries[id]?.tokensThisSlice = 0
        }
    }

    /// One token for `id` in the current step.
    package mutating func recordToken(_ id: UInt64) {
        entries[id]?.tokensThisSlice += 1
    }

    /// Ends a step: waiting generations age, running ones are marked as run now.
    package mutating func finishStep() {
        step += 1
        for id in Array(entries.keys) {
            switch entries[id]!.state {
            case .ready: entries[id]!.waitedSteps += 1
            case .running: entries[id]!.lastRunStep = step
            case .suspended: break
            }
        }
    }
}
