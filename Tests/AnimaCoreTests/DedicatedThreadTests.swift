import Foundation
import Synchronization
import Testing

@testable import AnimaCore

/// An actor whose jobs all run on one dedicated thread.
private actor Pinned {
    let thread: DedicatedThread
    private(set) var order: [Int] = []

    init(thread: DedicatedThread) { self.thread = thread }

    nonisolated var unownedExecutor: UnownedSerialExecutor { thread.asUnownedSerialExecutor() }

    func record(_ value: Int) -> (name: String, onThread: Bool) {
        order.append(value)
        return (DedicatedThread.currentName, thread.isCurrent)
    }
}

/// What the closures of one test did, shared with the test.
private final class Progress: Sendable {
    let log = Mutex<[Int]>([])
    let started = Mutex(false)
}

@Suite("Dedicated thread")
struct DedicatedThreadTests {
    @Test func actorJobsRunOnTheNamedThread() async {
        let actor = Pinned(thread: DedicatedThread(name: "anima-test-pinned"))
        let seen = await actor.record(1)
        #expect(seen.name == "anima-test-pinn")  // Linux keeps 15 bytes
        #expect(seen.onThread)
    }

    @Test func runReturnsTheResultFromTheThreadOneClosureAtATime() async throws {
        let thread = DedicatedThread(name: "anima-test-run")
        let state = Progress()
        let gate = DispatchSemaphore(value: 0)
        async let first: Void = thread.run {
            state.started.withLock { $0 = true }
            gate.wait()
            state.log.withLock { $0.append(1) }
        }
        while !state.started.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(1)) }
        async let second = thread.run { () -> String in
            state.log.withLock { $0.append(2) }
            return DedicatedThread.currentName
        }
        // The thread is busy with the first closure, so the second waits its turn.
        try await Task.sleep(for: .milliseconds(50))
        #expect(state.log.withLock { $0 } == [])
        gate.signal()
        let name = await second
        await first
        #expect(name == "anima-test-run")
        #expect(state.log.withLock { $0 } == [1, 2])
        #expect(!thread.isCurrent)
    }

    @Test func runRethrowsTheClosuresError() async {
        struct Failure: Error, Equatable {}
        let thread = DedicatedThread(name: "anima-test-throw")
        await #expect(throws: Failure.self) {
            try await thread.run { () throws(Failure) -> Int in throw Failure() }
        }
    }

    @Test func runAndWaitBlocksForTheResultAndRunsInlineOnItsOwnThread() throws {
        let thread = DedicatedThread(name: "anima-test-wait")
        let (name, nested) = thread.runAndWait { (DedicatedThread.currentName, thread.runAndWait { thread.isCurrent }) }
        #expect(name == "anima-test-wait")
        #expect(nested)
        struct Failure: Error {}
        #expect(throws: Failure.self) { try thread.runAndWait { throw Failure() } }
    }

    /// How many of this process's threads carry `name`, as `ps -L` shows them.
    private func threads(named name: String) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.count { task in
            (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines) == name
        }
    }

    @Test func theThreadCarriesItsNameAndEndsWhenTheExecutorIsReleased() async throws {
        var thread: DedicatedThread? = DedicatedThread(name: "anima-test-ends")
        await thread!.run { usleep(1000) }
        #expect(threads(named: "anima-test-ends") == 1)
        thread = nil
        for _ in 0..<200 where threads(named: "anima-test-ends") > 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(threads(named: "anima-test-ends") == 0)
    }

    @Test func offloadedCallsRunInParallelOnThreadsOfTheirOwn() async {
        // Each call waits for the other to have started: run one after the other, both time out.
        let (aStarted, bStarted) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        async let a = DedicatedThread.offload(name: "anima-test-a") { () -> (String, Bool) in
            aStarted.signal()
            return (DedicatedThread.currentName, bStarted.wait(timeout: .now() + 10) == .success)
        }
        async let b = DedicatedThread.offload(name: "anima-test-b") { () -> (String, Bool) in
            bStarted.signal()
            return (DedicatedThread.currentName, aStarted.wait(timeout: .now() + 10) == .success)
        }
        let (first, second) = await (a, b)
        #expect(first.0 == "anima-test-a" && second.0 == "anima-test-b")
        #expect(first.1 && second.1)
    }

    @Test func detachedLoopsOwnTheirThread() async {
        let name: String = await withCheckedContinuation { continuation in
            DedicatedThread.detach(name: "anima-test-loop") { continuation.resume(returning: DedicatedThread.currentName) }
        }
        #expect(name == "anima-test-loop")
    }
}
