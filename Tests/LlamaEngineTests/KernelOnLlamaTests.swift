import AnimaCore
import AnimaKernel
import Foundation
import Testing

@testable import AnimaLlama
@testable import AnimaProcessor

/// The kernel on the real model: scheduling and context switches never change an answer.
@Suite("Kernel on SmolLM2", .serialized)
struct KernelOnLlamaTests {
    static let tasks = [
        "What is the capital of France?", "Name a fruit that is red.", "What colour is the sky?", "Say hello in Spanish.",
        "How many days are in a week?", "Name a large animal.", "What is ice made of?", "Name a musical instrument.",
    ]
    let owner = Principal(name: "tester", groups: ["users"])

    func kernel(slots: Int, policy: any SlotPolicy) throws -> (Kernel, LlamaEngine) {
        let engine = try LlamaEngine(
            .init(modelPath: try TestModel.requirePath(), slots: slots, contextLength: 512, scheduler: Scheduler(policy: policy)))
        return (Kernel(.init(processor: engine)), engine)
    }

    func spec(_ task: String) -> AgentSpec {
        AgentSpec(task: task, limits: .init(maxSteps: 1), sampling: .init(temperature: 0, maxTokensPerStep: 24))
    }

    @Test("8 concurrent agents finish with the answers they give one by one")
    func concurrentAgentsMatchSequential() async throws {
        let (serial, _) = try kernel(slots: 1, policy: FIFOPolicy())
        var alone: [AnimaKernel.ExitStatus] = []
        for task in Self.tasks {
            alone.append(try await serial.wait(try await serial.spawn(spec(task), owner: owner)))
        }
        let (shared, engine) = try kernel(slots: 4, policy: RoundRobinPolicy(quantum: 6))
        var pids: [PID] = []
        for task in Self.tasks { pids.append(try await shared.spawn(spec(task), owner: owner)) }
        var together: [AnimaKernel.ExitStatus] = []
        for pid in pids { together.append(try await shared.wait(pid)) }
        #expect(together == alone)
        #expect(alone.allSatisfy { if case .completed(let a) = $0 { !a.isEmpty } else { false } })
        #expect(engine.statistics.preemptions > 0)  // 8 agents on 4 slots took turns
    }

    @Test("an agent suspended mid-answer and resumed gives the answer it would have given")
    func suspendResumeAgent() async throws {
        let task = "Describe a sunrise over the sea in detail."
        var long = spec(task)
        long.sampling.maxTokensPerStep = 48
        let (reference, _) = try kernel(slots: 2, policy: FIFOPolicy())
        let expected = try await reference.wait(try await reference.spawn(long, owner: owner))

        let (k, engine) = try kernel(slots: 2, policy: FIFOPolicy())
        let pid = try await k.spawn(long, owner: owner)
        while (await k.status(pid)?.usage.generatedTokens ?? 0) < 10 { try await Task.sleep(for: .milliseconds(5)) }
        try await k.signal(pid, .suspend, from: owner)
        #expect(await k.status(pid)?.state == .suspended)
        // Someone else uses the processor meanwhile.
        let other = try await k.spawn(spec("Count to five."), owner: owner)
        _ = try await k.wait(other)
        try await k.signal(pid, .resume, from: owner)
        #expect(try await k.wait(pid) == expected)
        #expect(engine.statistics.restores >= 1)
    }
}
