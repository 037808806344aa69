import AnimaCore
import AnimaMemory
import AnimaProcessor
import AnimaSecurity
import AnimaStorage
import Foundation
import Testing

@testable import AnimaKernel

/// A kernel started without a processor (as `anima memory forget` starts one): memory
/// syscalls work and are audited; generation is refused with an error that says why.
@Suite struct ProcessorlessKernelTests {
    @Test func servesMemorySyscallsAndRefusesGeneration() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("anima-no-processor-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try await MemoryStore.open(.directory(directory), key: .generate())
        let audit = MemoryAuditTrail()
        let kernel = Kernel(.init(processor: nil, memory: MemorySystem(store: store, embedder: nil), audit: audit))
        #expect(kernel.processor == nil)

        _ = try await kernel.invoke(.memory(.write(key: "trip", value: "Lisbon")), as: alice)
        guard case .value(let trip) = try await kernel.invoke(.memory(.read(key: "trip")), as: alice) else {
            Issue.record("read did not return a value")
            return
        }
        #expect(trip == "Lisbon")
        guard
            case .inserted(let ids) = try await kernel.invoke(
                .memory(.insert(agent: "assistant", passages: [NewMemoryPassage(text: "the trip went to Lisbon")])), as: alice),
            let id = ids.first
        else {
            Issue.record("insert did not return an id")
            return
        }
        guard
            case .records(let result) = try await kernel.invoke(
                .memory(.search(MemorySearchRequest(text: "Lisbon", agent: "assistant", limit: 5))), as: alice)
        else {
            Issue.record("search did not return records")
            return
        }
        let found = result.records
        #expect(found.count == 1)
        guard
            case .erased(let erased) = try await kernel.invoke(
                .memory(.forget(agent: "assistant", recallIDs: nil, archivalIDs: [id])), as: alice)
        else {
            Issue.record("forget did not say how many records it erased")
            return
        }
        #expect(erased == 1)

        await #expect(throws: SyscallError.noModel) {
            _ = try await kernel.invoke(.generate(GenerationRequest(messages: [.user("hello")])), as: alice)
        }
        #expect(SyscallError.noModel.description.contains("no model is configured"))
        let refused = audit.records.last { $0.syscall == "generate" }
        #expect(refused?.outcome == .failed(SyscallError.noModel.description))

        // An agent process fails on its first generation, with the same message.
        let pid = try await kernel.spawn(AgentSpec(name: "a", task: "Where did I go?"), owner: alice)
        guard case .failed(let reason) = try await kernel.wait(pid) else {
            Issue.record("an agent on a kernel without a processor did not fail")
            return
        }
        #expect(reason.contains("no model is configured"))
        try await store.close()
    }
}
