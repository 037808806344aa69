import AnimaCore
import AnimaProcessor
import AnimaSecurity
import AnimaTesting
import Foundation
import Synchronization
import Testing

@testable import AnimaKernel

/// A generation asked for from outside (`Kernel.invoke`) on a time-shared processor runs as a
/// request process in its caller's task (issue 24, the daemon's own cost): it must still be a
/// process like any other, listed, audited, killed, suspended, and cancelled with its caller.
@Suite("Kernel: request processes run in their caller's task")
struct RequestProcessTests {
    /// A kernel on a scripted processor that steps only when the test says.
    static func kernel() -> (Kernel, ScriptedProcessor, MemoryAuditTrail) {
        let processor = ScriptedProcessor(slots: 1, scheduler: Scheduler()) { _ in .text("one two three") }
        let audit = MemoryAuditTrail()
        return (Kernel(.init(processor: processor, audit: audit)), processor, audit)
    }

    static let request = Syscall.generate(GenerationRequest(messages: [.user("hello")]))

    /// A generation request in flight: the kernel, its processor, the caller's task and the
    /// request's process, which holds the slot.
    static func inFlight(interrupt: RequestInterrupt? = nil) async throws
        -> (kernel: Kernel, processor: ScriptedProcessor, audit: MemoryAuditTrail, call: Task<SyscallResult, any Error>, pid: PID)
    {
        let (kernel, processor, audit) = Self.kernel()
        let call = Task { try await kernel.invoke(Self.request, as: alice, name: "api", interrupt: interrupt) }
        return (kernel, processor, audit, call, try await Self.running(kernel, processor))
    }

    /// Waits until the request's process holds the slot and returns its PID.
    static func running(_ kernel: Kernel, _ processor: ScriptedProcessor) async throws -> PID {
        for _ in 0..<10_000 {
            if let process = await kernel.processes().first(where: { $0.name == "api" }) {
                if processor.occupancy.running + processor.occupancy.waiting == 1 { return process.pid }
            }
            await Task.yield()
        }
        throw CancellationError()
    }

    @Test func itIsListedWhileItRunsAuditedAndGoneAfter() async throws {
        let (kernel, processor, audit, call, pid) = try await Self.inFlight()
        let listed = try #require(await kernel.status(pid))
        #expect(listed.owner == "alice" && listed.groups == ["users"])
        while processor.occupancy.running + processor.occupancy.waiting > 0 { processor.step() }
        guard case .generated(let result) = try await call.value else { Issue.record("no generation"); return }
        #expect(result.text == "one two three")
        #expect(await kernel.status(pid) == nil, "the request process was not reaped")
        let record = try #require(audit.records.last)
        #expect(record.syscall == "generate" && record.pid == pid && record.owner == "alice" && record.outcome == .completed)
    }

    @Test func aKillEndsItAndFreesTheSlot() async throws {
        let (kernel, processor, _, call, pid) = try await Self.inFlight()
        processor.step()
        try await kernel.signal(pid, .terminate)
        await #expect(throws: CancellationError.self) { try await call.value }
        #expect(processor.occupancy.running == 0 && processor.occupancy.waiting == 0)
        #expect(await kernel.status(pid) == nil)
        #expect(await kernel.processes().isEmpty)
    }

    @Test func aCallerThatGoesAwayTakesItDown() async throws {
        let (kernel, processor, _, call, pid) = try await Self.inFlight()
        call.cancel()
        await #expect(throws: CancellationError.self) { try await call.value }
        // The slot is given back (the generation's stream ended with its reader).
        for _ in 0..<10_000 where processor.occupancy.running + processor.occupancy.waiting > 0 { await Task.yield() }
        #expect(processor.occupancy.running == 0 && processor.occupancy.waiting == 0)
        #expect(await kernel.status(pid) == nil)
    }

    @Test func suspendedAndResumedItFinishes() async throws {
        let (kernel, processor, _, call, pid) = try await Self.inFlight()
        processor.step()
        try await kernel.signal(pid, .suspend)
        #expect(await kernel.status(pid)?.state == .suspended)
        processor.step()  // a suspended generation does not run
        try await kernel.signal(pid, .resume)
        processor.startStepping()  // its slot comes back when the scheduler grants it
        guard case .generated(let result) = try await call.value else { Issue.record("no generation"); return }
        #expect(result.text == "one two three")
    }

    @Test func anInterruptEndsItFromOutsideItsTask() async throws {
        let interrupt = RequestInterrupt()
        let (kernel, processor, _, call, pid) = try await Self.inFlight(interrupt: interrupt)
        processor.step()
        interrupt.fire()
        await #expect(throws: CancellationError.self) { try await call.value }
        #expect(processor.occupancy.running == 0 && processor.occupancy.waiting == 0)
        #expect(await kernel.status(pid) == nil)
    }

    @Test func anInterruptThatCameFirstEndsTheRequestBeforeItRuns() async throws {
        let (kernel, processor, audit) = Self.kernel()
        let interrupt = RequestInterrupt()
        interrupt.fire()
        await #expect(throws: CancellationError.self) { try await kernel.invoke(Self.request, as: alice, interrupt: interrupt) }
        #expect(processor.occupancy.running == 0 && processor.occupancy.waiting == 0)
        #expect(!audit.records.contains { $0.syscall == "generate" && $0.outcome == .completed })
        // The same for a request that runs in a task of its own.
        await #expect(throws: CancellationError.self) { try await kernel.invoke(.listProcesses, as: alice, interrupt: interrupt) }
        #expect(await kernel.processes().isEmpty)
    }

    @Test func anInterruptAfterTheAnswerChangesNothing() async throws {
        let (kernel, processor, _) = Self.kernel()
        processor.startStepping()
        let interrupt = RequestInterrupt()
        guard case .generated(let result) = try await kernel.invoke(Self.request, as: alice, interrupt: interrupt) else {
            Issue.record("no generation")
            return
        }
        interrupt.fire()
        #expect(result.text == "one two three" && interrupt.hasFired)
        #expect(await kernel.processes().isEmpty)
    }

    @Test func aFailedGenerationReportsItsErrorAndLeavesNoProcess() async throws {
        let processor = ScriptedProcessor(slots: 1, scheduler: Scheduler()) { _ in .failure("the model broke") }
        let kernel = Kernel(.init(processor: processor))
        await #expect(throws: ProcessorError.self) { try await kernel.invoke(Self.request, as: alice, name: "api") }
        #expect(await kernel.processes().isEmpty)
    }

    @Test("a request's answer nobody sees before it is screened is asked for whole; one streamed to a sink or an observer, or an agent's, token by token")
    func wholeAnswersOnlyWhereNoOneSeesTheTokens() async throws {
        let asked = Mutex<[Bool]>([])
        let processor = ScriptedProcessor(slots: 1, scheduler: Scheduler()) { request in
            asked.withLock { $0.append(request.wholeAnswer) }
            return .text("one two three")
        }
        processor.startStepping()
        let kernel = Kernel(.init(processor: processor))
        guard case .generated(let whole) = try await kernel.invoke(Self.request, as: alice, name: "api") else {
            Issue.record("no generation")
            return
        }
        let sunk = Mutex<[String]>([])
        _ = try await kernel.invoke(Self.request, as: alice, name: "api-stream") { event in
            if case .text(let t) = event { sunk.withLock { $0.append(t) } }
        }
        // An agent's process is not a request's: it counts its tokens as they come (`anima ps`).
        _ = try await kernel.wait(try await kernel.spawn(AgentSpec(task: "hello", limits: .init(maxSteps: 1)), owner: alice))
        let watching = await kernel.events()
        _ = try await kernel.invoke(Self.request, as: alice, name: "api")
        _ = watching
        #expect(asked.withLock { $0 } == [true, false, false, false])
        // The same answer either way; the sink still gets it word by word.
        #expect(whole.text == "one two three")
        #expect(sunk.withLock { $0 } == ["one", " two", " three"])
    }
}
