import AnimaCore
import AnimaProcessor
import Testing

@testable import AnimaKernel

/// `Scheduler.plan` turns a policy's choice into switches: what it must do for any table,
/// checked on many random ones (the engine calls it between every two decode steps, so it
/// walks the slots once, without sorting or copying them).
@Suite("Scheduler: a plan carries out the policy's choice")
struct SchedulerPlanTests {
    static let policies: [(String, any SlotPolicy)] = [
        ("fifo", FIFOPolicy()), ("round robin", RoundRobinPolicy(quantum: 3)), ("priority", PriorityPolicy(agingSteps: 4)),
    ]

    @Test(arguments: 0..<3)
    func everyRandomTableGetsTheSwitchesItsChoiceTakes(policyIndex: Int) {
        let (name, policy) = Self.policies[policyIndex]
        var random = SplitMix64(seed: UInt64(policyIndex) + 1)
        for round in 0..<2000 {
            let slots = Int.random(in: 1...12, using: &random)
            var occupants = [UInt64?](repeating: nil, count: slots)
            var candidates: [SlotCandidate] = []
            var nextID: UInt64 = 1
            for slot in 0..<slots where Bool.random(using: &random) {
                occupants[slot] = nextID
                candidates.append(Self.candidate(nextID, running: true, &random))
                nextID += 1
            }
            for _ in 0..<Int.random(in: 0...8, using: &random) {
                candidates.append(Self.candidate(nextID, running: false, &random))
                nextID += 1
            }
            let plan = Scheduler(policy: policy).plan(candidates, occupants: occupants)
            guard !candidates.isEmpty else {
                #expect(plan == SlotPlan())
                continue
            }
            let chosen = policy.choose(from: candidates, slots: slots)
            let label = "\(name), round \(round): occupants \(occupants), chosen \(chosen), plan \(plan)"
            // Every policy fills the slots it can, with distinct candidates.
            #expect(chosen.count == min(slots, candidates.count) && Set(chosen).count == chosen.count, "\(label)")
            // Exactly those holding a slot and not chosen give it up, in slot order.
            #expect(plan.preempt == occupants.compactMap { $0 }.filter { !chosen.contains($0) }, "\(label)")
            // The chosen that wait take the lowest free slots, in the policy's order, while any are free.
            let free = occupants.indices.filter { occupants[$0] == nil || plan.preempt.contains(occupants[$0]!) }
            let waiting = chosen.filter { id in candidates.contains { $0.id == id && !$0.isRunning } }
            #expect(plan.admit.map(\.id) == Array(waiting.prefix(free.count)), "\(label)")
            #expect(plan.admit.map(\.slot) == Array(free.prefix(plan.admit.count)), "\(label)")
        }
    }

    @Test func aTableHasWorkWhileAGenerationRunsOrWaitsAndAgesThoseThatWait() {
        var table = SlotTable(slots: 1)
        #expect(!table.hasWork)
        table.add(1, priority: 0)
        table.add(2, priority: 0)
        #expect(table.hasWork)
        table.apply(table.plan(Scheduler()))
        table.finishStep()
        table.finishStep()
        #expect(table.entries[1]?.lastRunStep == 2 && table.entries[2]?.waitedSteps == 2)
        table.suspend(1)
        table.suspend(2)
        #expect(!table.hasWork, "only suspended generations: nothing to step")
        table.resume(2)
        #expect(table.hasWork)
        table.remove(2)
        table.remove(1)
        #expect(!table.hasWork && table.entries.isEmpty)
    }

    static func candidate(_ id: UInt64, running: Bool, _ random: inout SplitMix64) -> SlotCandidate {
        SlotCandidate(
            id: id, priority: Int.random(in: 0...2, using: &random), arrival: UInt64.random(in: 0...50, using: &random) * 100 + id,
            isRunning: running, tokensThisSlice: running ? Int.random(in: 0...5, using: &random) : 0,
            waitedSteps: running ? 0 : Int.random(in: 0...10, using: &random), wholeAnswer: Bool.random(using: &random))
    }
}
