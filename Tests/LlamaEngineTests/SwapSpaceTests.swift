import Foundation
import Testing

@testable import AnimaLlama
@testable import AnimaProcessor

/// Where preempted and suspended generations' KV states wait (no model needed).
@Suite("Swap space")
struct SwapSpaceTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("anima-swap-test-\(UUID().uuidString)")

    func state(_ owner: UInt64, bytes: Int = 1000) -> [UInt8] {
        (0..<bytes).map { UInt8(truncatingIfNeeded: Int(owner) &* 31 &+ $0) }
    }

    /// Saves `owner`'s state as the engine does: into memory the swap space hands out.
    func save(_ swap: SwapSpace, _ owner: UInt64, bytes: Int = 1000, lastRun: UInt64, parked: Bool = false) -> SwapSpace.Snapshot {
        let memory = swap.bytes(bytes)
        let content = state(owner, bytes: bytes)
        memory.base.update(from: content, count: bytes)
        return swap.store(memory, for: owner, lastRun: lastRun, parked: parked)
    }

    /// Restores a state as the engine does: its bytes, then the memory goes back.
    func restore(_ swap: SwapSpace, _ snapshot: SwapSpace.Snapshot) throws -> [UInt8] {
        let memory = try swap.load(snapshot)
        defer { swap.recycle(memory) }
        return Array(UnsafeBufferPointer(start: memory.base, count: memory.count))
    }

    func files() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    }

    /// Round robin on one slot with four generations and room in memory for two states:
    /// each turn the running one is preempted and the longest waiting comes back. Spilling
    /// the least recently run state would write out, every turn, the very state read back next.
    @Test("round robin spills the state wanted last, one turn in three, not every turn")
    func roundRobinSpillsTheLatest() throws {
        let swap = SwapSpace(memoryLimit: 2000, directory: directory)
        defer { swap.removeAll() }
        var waiting: [(owner: UInt64, snapshot: SwapSpace.Snapshot)] = []
        for owner in UInt64(0)..<2 { waiting.append((owner, save(swap, owner, lastRun: owner))) }
        var running: UInt64 = 2
        for turn in UInt64(2)..<14 {
            waiting.append((running, save(swap, running, lastRun: turn)))
            let next = waiting.removeFirst()  // the longest waiting: the least recently run
            #expect(try restore(swap, next.snapshot) == state(next.owner))
            running = next.owner
        }
        #expect(swap.usage.swapOuts == 4)  // the least recently run first would spill 12
        #expect(swap.usage.memoryBytes <= 2000)
        for (owner, snapshot) in waiting { #expect(try restore(swap, snapshot) == state(owner)) }
        #expect(swap.usage.memoryBytes == 0 && swap.usage.diskBytes == 0)
        #expect(files().isEmpty)
    }

    @Test("a suspended generation's state goes to disk before any that waits for a slot")
    func parkedSpillFirst() throws {
        let swap = SwapSpace(memoryLimit: 2000, directory: directory)
        defer { swap.removeAll() }
        let parked = save(swap, 1, lastRun: 1, parked: true)
        let preempted = save(swap, 2, lastRun: 2)
        let other = save(swap, 3, lastRun: 3)
        #expect(onDisk(parked) && !onDisk(preempted) && !onDisk(other))
        // Suspended after it was preempted: it goes before a later one.
        swap.mark(preempted, parked: true)
        let later = save(swap, 4, lastRun: 4)
        #expect(onDisk(preempted) && !onDisk(later))
        // Resumed, it waits for a slot like the rest: the latest to have run goes first.
        swap.mark(other, parked: true)
        swap.mark(other, parked: false)
        let latest = save(swap, 5, lastRun: 5)
        #expect(onDisk(latest) && !onDisk(other))
        #expect(try restore(swap, parked) == state(1) && restore(swap, preempted) == state(2))
    }

    func onDisk(_ snapshot: SwapSpace.Snapshot) -> Bool {
        if case .disk = snapshot.location { true } else { false }
    }

    @Test("a spilled state is private to the process and read back whole, or not at all")
    func filesArePrivateAndChecked() throws {
        let swap = SwapSpace(memoryLimit: 0, directory: directory)
        defer { swap.removeAll() }
        let whole = save(swap, 7, bytes: 100_000, lastRun: 1)
        let cut = save(swap, 8, lastRun: 2)
        #expect(swap.usage.diskBytes == 101_000 && swap.usage.memoryBytes == 0)
        for name in files() {
            let mode = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(name).path)[.posixPermissions]
            #expect(mode as? Int == 0o600)
        }
        #expect(try restore(swap, whole) == state(7, bytes: 100_000))

        guard case .disk(let url) = cut.location else {
            Issue.record("not spilled")
            return
        }
        try Data(state(8).prefix(10)).write(to: url)
        #expect {
            try restore(swap, cut)
        } throws: { error in
            "\(error)".contains("is 10 bytes, expected 1000")
        }
        #expect(files().isEmpty)
    }

    /// A state is tens of megabytes: memory a restore frees is what the next save writes into.
    @Test("memory of a restored state is reused for the next save, up to a quarter of the limit")
    func memoryIsReused() throws {
        let swap = SwapSpace(memoryLimit: 8000, directory: directory)
        defer { swap.removeAll() }
        let first = swap.bytes(1000)
        swap.recycle(first)
        #expect(swap.bytes(1100) === first)  // room to grow: an eighth more than asked
        let larger = swap.bytes(1200)
        #expect(larger !== first && larger.count == 1200)
        swap.recycle(larger)
        swap.recycle(first)
        // At most 2000 bytes kept: the largest that fit.
        #expect(swap.bytes(1200) === larger)
        #expect(swap.bytes(1) !== first)

        let none = SwapSpace(memoryLimit: 0, directory: directory)
        let once = none.bytes(10)
        none.recycle(once)
        #expect(none.bytes(10) !== once)
    }
}

/// How much of the decode thread's time preemptions may take.
@Suite("Switch budget")
struct SwitchBudgetTests {
    @Test("expensive switches wait for decoding time; cheap ones never do; idle time does not pile up")
    func budget() {
        var budget = SwitchBudget(share: 0.02, cap: .milliseconds(200))
        #expect(budget.allowsPreemption)
        // Five 40-ms switches in a row: the fifth overdraws the first 200 ms of credit.
        for _ in 0..<5 { budget.switched(40_000_000) }
        #expect(budget.allowsPreemption)
        budget.switched(40_000_000)
        #expect(!budget.allowsPreemption)
        // 40 ms over: 2 s of decoding (at 2%) pays it back.
        budget.decoded(1_900_000_000)
        #expect(!budget.allowsPreemption)
        budget.decoded(100_000_000)
        #expect(budget.allowsPreemption)
        // A long quiet spell earns no more than the cap.
        budget.decoded(3_600_000_000_000)
        #expect(budget.credit == 200_000_000)
        // A 1-ms switch after each 80-ms step stays within 2%: never held back.
        for _ in 0..<10_000 {
            budget.decoded(80_000_000)
            budget.switched(1_000_000)
        }
        #expect(budget.allowsPreemption)
    }
}
