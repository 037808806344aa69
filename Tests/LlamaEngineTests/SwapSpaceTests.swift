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
        for owner in UInt64(0)..<2 { waiting.append((owner, swap.store(state(owner), for: owner, lastRun: owner))) }
        var running: UInt64 = 2
        for turn in UInt64(2)..<14 {
            waiting.append((running, swap.store(state(running), for: running, lastRun: turn)))
            let next = waiting.removeFirst()  // the longest waiting: the least recently run
            #expect(try swap.load(next.snapshot) == state(next.owner))
            running = next.owner
        }
        #expect(swap.usage.swapOuts == 4)  // the least recently run first would spill 12
        #expect(swap.usage.memoryBytes <= 2000)
        for (owner, snapshot) in waiting { #expect(try swap.load(snapshot) == state(owner)) }
        #expect(swap.usage.memoryBytes == 0 && swap.usage.diskBytes == 0)
        #expect(files().isEmpty)
    }

    @Test("a suspended generation's state goes to disk before any that waits for a slot")
    func parkedSpillFirst() throws {
        let swap = SwapSpace(memoryLimit: 2000, directory: directory)
        defer { swap.removeAll() }
        let parked = swap.store(state(1), for: 1, lastRun: 1, parked: true)
        let preempted = swap.store(state(2), for: 2, lastRun: 2)
        let other = swap.store(state(3), for: 3, lastRun: 3)
        #expect(onDisk(parked) && !onDisk(preempted) && !onDisk(other))
        // Suspended after it was preempted: it goes before a later one.
        swap.mark(preempted, parked: true)
        let later = swap.store(state(4), for: 4, lastRun: 4)
        #expect(onDisk(preempted) && !onDisk(later))
        // Resumed, it waits for a slot like the rest: the latest to have run goes first.
        swap.mark(other, parked: true)
        swap.mark(other, parked: false)
        let latest = swap.store(state(5), for: 5, lastRun: 5)
        #expect(onDisk(latest) && !onDisk(other))
        #expect(try swap.load(parked) == state(1) && swap.load(preempted) == state(2))
    }

    func onDisk(_ snapshot: SwapSpace.Snapshot) -> Bool {
        if case .disk = snapshot.location { true } else { false }
    }

    @Test("a spilled state is private to the process and read back whole, or not at all")
    func filesArePrivateAndChecked() throws {
        let swap = SwapSpace(memoryLimit: 0, directory: directory)
        defer { swap.removeAll() }
        let whole = swap.store(state(7, bytes: 100_000), for: 7, lastRun: 1)
        let cut = swap.store(state(8), for: 8, lastRun: 2)
        #expect(swap.usage.diskBytes == 101_000 && swap.usage.memoryBytes == 0)
        for name in files() {
            let mode = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(name).path)[.posixPermissions]
            #expect(mode as? Int == 0o600)
        }
        #expect(try swap.load(whole) == state(7, bytes: 100_000))

        guard case .disk(let url) = cut.location else {
            Issue.record("not spilled")
            return
        }
        try Data(state(8).prefix(10)).write(to: url)
        #expect {
            try swap.load(cut)
        } throws: { error in
            "\(error)".contains("is 10 bytes, expected 1000")
        }
        #expect(files().isEmpty)
    }
}
