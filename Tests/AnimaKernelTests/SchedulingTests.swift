import AnimaCore
import AnimaKernel
import AnimaProcessor
import AnimaTesting
import Testing

/// Order of service under each slot policy, on the scripted processor with manual steps:
/// exactly reproducible.
@Suite("Slot policies")
struct SchedulingTests {
    /// A processor whose answers are `tokens[n]` words for the n-th request (by its first message).
    func processor(slots: Int, policy: any SlotPolicy) -> ScriptedProcessor {
        ScriptedProcessor(slots: slots, scheduler: Scheduler(policy: policy)) { request in
            let n = Int(request.messages[0].content.split(separator: " ")[1])!
            return .text(Array(repeating: "w", count: n).joined(separator: " "))
        }
    }

    /// Starts a generation named `name` producing `tokens` tokens.
    @discardableResult
    func submit(_ p: ScriptedProcessor, _ name: String, tokens: Int, priority: Int = 0, whole: Bool = false) -> (id: UInt64, name: String) {
        var request = GenerationRequest(messages: [.user("\(name) \(tokens)")])
        request.wholeAnswer = whole
        let control = p.start(request, priority: priority)
        Task { for try await _ in control.events {} }
        return (control.id, name)
    }

    func order(_ p: ScriptedProcessor, _ names: [(id: UInt64, name: String)]) -> String {
        let byID = Dictionary(uniqueKeysWithValues: names.map { ($0.id, $0.name) })
        return p.serviceLog.map { byID[$0.generation]! }.joined()
    }

    func runAll(_ p: ScriptedProcessor) {
        while !p.step().isEmpty {}
    }

    @Test func fifoServesInArrivalOrder() {
        let p = processor(slots: 1, policy: FIFOPolicy())
        let jobs = [submit(p, "A", tokens: 3), submit(p, "B", tokens: 2), submit(p, "C", tokens: 2)]
        runAll(p)
        #expect(order(p, jobs) == "AAABBCC")
    }

    @Test func roundRobinSharesBySlicesOfTokens() {
        let p = processor(slots: 1, policy: RoundRobinPolicy(quantum: 2))
        let jobs = [submit(p, "A", tokens: 5), submit(p, "B", tokens: 3), submit(p, "C", tokens: 1)]
        runAll(p)
        #expect(order(p, jobs) == "AABBCAABA")
    }

    /// Whole answers (non-streamed API requests) are not rotated against each other: a turn
    /// shows their readers nothing, so among them the first come is served first.
    @Test func roundRobinServesWholeAnswersInArrivalOrder() {
        let p = processor(slots: 1, policy: RoundRobinPolicy(quantum: 2))
        let jobs = [submit(p, "A", tokens: 5, whole: true), submit(p, "B", tokens: 3, whole: true), submit(p, "C", tokens: 1, whole: true)]
        runAll(p)
        #expect(order(p, jobs) == "AAAAABBBC")
    }

    /// A whole answer runs `wholeAnswerSlices` slices before a waiting whole answer takes its
    /// slot: a short request waits behind a long one for that long, not until it finishes.
    @Test func aLongWholeAnswerTakesTurnsAfterItsLongerSlice() {
        let p = processor(slots: 1, policy: RoundRobinPolicy(quantum: 1))
        let jobs = [submit(p, "A", tokens: 20, whole: true), submit(p, "B", tokens: 2, whole: true)]
        runAll(p)
        let long = String(repeating: "A", count: RoundRobinPolicy.wholeAnswerSlices)
        #expect(order(p, jobs) == long + "BB" + String(repeating: "A", count: 20 - long.count))
    }

    /// A streamed generation still takes its turn from a whole answer whose slice ran out;
    /// whole answers then go by the steps each has waited since it arrived (B had waited
    /// four when S's slice ran out, A two).
    @Test func aStreamedGenerationTakesItsTurnFromAWholeAnswer() {
        let p = processor(slots: 1, policy: RoundRobinPolicy(quantum: 2))
        let jobs = [submit(p, "A", tokens: 4, whole: true), submit(p, "S", tokens: 3), submit(p, "B", tokens: 2, whole: true)]
        runAll(p)
        #expect(order(p, jobs) == "AASSBBAAS")
    }

    @Test func roundRobinLetsALoneGenerationRunOn() {
        let p = processor(slots: 2, policy: RoundRobinPolicy(quantum: 1))
        let jobs = [submit(p, "A", tokens: 3), submit(p, "B", tokens: 3)]
        runAll(p)
        // Two slots, two generations: no one waits, so no one is preempted.
        #expect(order(p, jobs) == "ABABAB")
    }

    @Test func priorityRunsTheHighestFirst() {
        let p = processor(slots: 1, policy: PriorityPolicy(agingSteps: 100))
        let jobs = [submit(p, "L", tokens: 2, priority: 0), submit(p, "H", tokens: 2, priority: 5), submit(p, "M", tokens: 2, priority: 2)]
        runAll(p)
        #expect(order(p, jobs) == "HHMMLL")
    }

    @Test func higherPriorityArrivalPreemptsAtATokenBoundary() {
        let p = processor(slots: 1, policy: PriorityPolicy(agingSteps: 100))
        var jobs = [submit(p, "L", tokens: 4)]
        p.step()
        p.step()
        jobs.append(submit(p, "H", tokens: 2, priority: 3))
        runAll(p)
        #expect(order(p, jobs) == "LLHHLL")
    }

    /// High-priority work keeps arriving; only aging lets the low-priority one run.
    func firstServiceOfLow(agingSteps: Int, steps: Int) -> Int? {
        let p = processor(slots: 1, policy: PriorityPolicy(agingSteps: agingSteps))
        let low = submit(p, "L", tokens: 3)
        var current = submit(p, "H", tokens: 4, priority: 2)
        for _ in 0..<steps {
            let ran = p.step()
            if ran.contains(low.id) { return p.serviceLog.firstIndex { $0.generation == low.id } }
            if !p.serviceLog.isEmpty, p.serviceLog.last!.generation == current.id,
                p.serviceLog.filter({ $0.generation == current.id }).count == 4
            {
                current = submit(p, "H", tokens: 4, priority: 2)
            }
        }
        return nil
    }

    @Test func agingPreventsStarvation() {
        #expect(firstServiceOfLow(agingSteps: 1_000_000, steps: 60) == nil)  // without aging: starved
        let first = firstServiceOfLow(agingSteps: 4, steps: 60)
        #expect(first != nil && first! <= 16, "low priority first ran at step \(String(describing: first))")
    }

    @Test func suspendedGenerationsGiveUpTheirSlot() async throws {
        let p = processor(slots: 1, policy: FIFOPolicy())
        let a = p.start(GenerationRequest(messages: [.user("A 4")]), priority: 0)
        let b = p.start(GenerationRequest(messages: [.user("B 2")]), priority: 0)
        let reader = Task { for try await _ in a.events {} }
        let readerB = Task { for try await _ in b.events {} }
        p.step()
        #expect(a.slot == 0)
        let saved = try await a.suspend()
        #expect(saved.previousSlot == 0)
        p.step()
        p.step()  // B runs to completion in A's slot
        let slot = Task { try await a.resume() }
        while p.occupancy.waiting == 0 { await Task.yield() }
        p.step()
        #expect(try await slot.value == 0)
        runAll(p)
        let names = [(a.id, "A"), (b.id, "B")].map { (id: $0.0, name: $0.1) }
        #expect(order(p, names) == "ABBAAA")
        _ = try await (reader.value, readerB.value)
    }

    /// The scheduler's plan on its own: a waiting generation of higher priority takes the
    /// slot of the lowest running one; a free slot goes to the first waiting one.
    @Test func schedulerPlansPreemptionsAndAdmissions() {
        func candidate(_ id: UInt64, priority: Int, running: Bool) -> SlotCandidate {
            SlotCandidate(id: id, priority: priority, arrival: id, isRunning: running, tokensThisSlice: 0, waitedSteps: 0)
        }
        let priority = Scheduler(policy: PriorityPolicy(agingSteps: 100))
        let busy = priority.plan(
            [
                candidate(1, priority: 0, running: true), candidate(2, priority: 5, running: true),
                candidate(3, priority: 3, running: false),
            ],
            occupants: [1, 2])
        #expect(busy == SlotPlan(preempt: [1], admit: [(id: 3, slot: 0)]))
        let fifo = Scheduler()
        let free = fifo.plan([candidate(1, priority: 0, running: true), candidate(2, priority: 0, running: false)], occupants: [1, nil])
        #expect(free == SlotPlan(preempt: [], admit: [(id: 2, slot: 1)]))
        #expect(fifo.plan([], occupants: [nil]) == SlotPlan())
    }

    /// With fewer active slots than slots, the policy shares the active ones: free slots do
    /// not let an expired slice run on while another waits, and a lower limit preempts.
    @Test func activeSlotsBoundThePlan() {
        func candidate(_ id: UInt64, running: Bool, used: Int) -> SlotCandidate {
            SlotCandidate(id: id, priority: 0, arrival: id, isRunning: running, tokensThisSlice: used, waitedSteps: running ? 0 : 5)
        }
        let rr = Scheduler(policy: RoundRobinPolicy(quantum: 4))
        let crowd = [candidate(1, running: true, used: 4), candidate(2, running: true, used: 4), candidate(3, running: false, used: 0)]
        #expect(rr.plan(crowd, occupants: [1, 2, nil, nil]) == SlotPlan(preempt: [], admit: [(id: 3, slot: 2)]))
        #expect(rr.plan(crowd, occupants: [1, 2, nil, nil], active: 2) == SlotPlan(preempt: [2], admit: [(id: 3, slot: 1)]))
        let fifo = Scheduler()
        let running = [candidate(1, running: true, used: 0), candidate(2, running: true, used: 0)]
        #expect(fifo.plan(running, occupants: [1, 2], active: 1) == SlotPlan(preempt: [2], admit: []))
        #expect(fifo.plan(running, occupants: [1, 2], active: 0) == SlotPlan(preempt: [1, 2], admit: []))
    }
}
