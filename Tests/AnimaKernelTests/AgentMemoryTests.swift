import AnimaCore
import AnimaMemory
import AnimaProcessor
import AnimaSecurity
import AnimaStorage
import AnimaTesting
import Foundation
import Testing

@testable import AnimaKernel

/// Agent processes with persistent memory: each runs on its own pager, in its owner's
/// namespace; memory functions and erasure are syscalls.
@Suite struct AgentMemoryTests {
    struct Fixture {
        let directory: URL
        let store: MemoryStore
        let audit = MemoryAuditTrail()

        static func make() async throws -> Fixture {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("anima-kernel-memory-\(UUID().uuidString)")
            return Fixture(directory: directory, store: try await MemoryStore.open(.directory(directory), key: .generate()))
        }

        func kernel(_ model: any LanguageModel) -> Kernel {
            Kernel(.init(processor: model, memory: MemorySystem(store: store, embedder: nil), audit: audit))
        }

        func discard() { try? FileManager.default.removeItem(at: directory) }
    }

    /// Answers "Ada" when anything in its prompt mentions her, else "I do not know."
    static let rememberer = ScriptedModel(name: "rememberer", contextLength: 4096) { request in
        let prompt = request.messages.map(\.content).joined(separator: "\n")
        if request.messages.last?.content.contains("sister's name?") == true {
            return .text(prompt.contains("Ada") ? "Ada" : "I do not know.")
        }
        return .text("Noted.")
    }

    func run(_ kernel: Kernel, _ task: String, as owner: Principal, memory: String? = "assistant") async throws -> AnimaKernel.ExitStatus {
        let pid = try await kernel.spawn(AgentSpec(name: "a", task: task, memory: memory), owner: owner)
        return try await kernel.wait(pid)
    }

    @Test func anAgentRemembersAcrossProcessesAndOnlyForItsOwner() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.discard() }
        let kernel = fixture.kernel(Self.rememberer)
        #expect(try await run(kernel, "My sister's name is Ada.", as: alice) == .completed("Noted."))
        #expect(try await run(kernel, "What is my sister's name?", as: alice) == .completed("Ada"))
        // The same agent name under another owner is another namespace.
        #expect(try await run(kernel, "What is my sister's name?", as: bob) == .completed("I do not know."))
        // Without --memory a process starts empty.
        #expect(try await run(kernel, "What is my sister's name?", as: alice, memory: nil) == .completed("I do not know."))
        let stored = try await fixture.store.recall(try MemoryNamespace(user: "alice", agent: "assistant")).count()
        #expect(stored == 4)  // two tasks and two answers
    }

    @Test func memoryFunctionsAreSyscallsOnTheProcessOwnPager() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.discard() }
        let model = ScriptedModel(replies: [
            .toolCalls([ToolCall(id: "1", name: "archival_insert", arguments: ["content": "The boat is moored at pier 9."])]),
            .text("Saved."),
        ])
        let kernel = fixture.kernel(model)
        #expect(try await run(kernel, "Remember where the boat is.", as: alice) == .completed("Saved."))
        // The model was offered the memory functions, and its call landed in alice's archive.
        #expect(model.requests[0].tools.contains { $0.name == "archival_insert" })
        let archive = fixture.store.archival(try MemoryNamespace(user: "alice", agent: "assistant"))
        #expect(try await archive.search(MemoryQuery(text: "boat pier")).hits.map(\.item.text) == ["The boat is moored at pier 9."])
        #expect(
            fixture.audit.records.contains {
                $0.syscall == "call_tool" && $0.summary.hasPrefix("archival_insert") && $0.outcome == .completed
            })
    }

    @Test func forgetIsAnAuditedErasureOfTheOwnersAgentOnly() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.discard() }
        let kernel = fixture.kernel(Self.rememberer)
        _ = try await run(kernel, "My sister's name is Ada.", as: alice)
        _ = try await run(kernel, "My sister's name is Ada.", as: bob)
        let mine = try MemoryNamespace(user: "alice", agent: "assistant")
        let ids = try await fixture.store.recall(mine).list().map(\.id)
        #expect(ids.count == 2)

        // One message by ID: gone from storage and from the saved context window.
        guard
            case .erased(let one) = try await kernel.invoke(
                .memory(.forget(agent: "assistant", recallIDs: [ids[0]], archivalIDs: nil)), as: alice)
        else {
            Issue.record("no erasure result")
            return
        }
        #expect(one == 1)
        #expect(
            try await MemorySystem(store: fixture.store, embedder: nil).snapshot(user: "alice", agent: "assistant").resident.map(\.recallID)
                == [ids[1]])
        #expect(try await run(kernel, "What is my sister's name?", as: alice) == .completed("I do not know."))

        // Everything: alice's agent is empty, bob's untouched, and both erasures are audited.
        _ = try await kernel.invoke(.memory(.forget(agent: "assistant", recallIDs: nil, archivalIDs: nil)), as: alice)
        #expect(try await fixture.store.recall(mine).count() == 0)
        #expect(try await fixture.store.recall(try MemoryNamespace(user: "bob", agent: "assistant")).count() == 2)
        #expect(
            fixture.audit.records.filter { $0.syscall == "memory.forget" && $0.owner == "alice" && $0.outcome == .completed }.count == 2)
    }

    @Test func listingAndShowingMemoryAreAuditedSyscallsOfTheOwnersAgentsOnly() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.discard() }
        let kernel = fixture.kernel(Self.rememberer)
        _ = try await run(kernel, "My sister's name is Ada.", as: alice)
        guard case .agents(let mine) = try await kernel.invoke(.memory(.agents), as: alice),
            case .agents(let bobs) = try await kernel.invoke(.memory(.agents), as: bob),
            case .snapshot(let snapshot) = try await kernel.invoke(.memory(.show(agent: "assistant")), as: alice),
            case .snapshot(let empty) = try await kernel.invoke(.memory(.show(agent: "assistant")), as: bob)
        else {
            Issue.record("unexpected results")
            return
        }
        #expect(mine == ["assistant"] && bobs.isEmpty)
        #expect(snapshot.messages == 2 && snapshot.resident.contains { $0.message.content == "My sister's name is Ada." })
        #expect(empty.messages == 0)
        let records = fixture.audit.records
        #expect(records.filter { $0.syscall == "memory.agents" && $0.outcome == .completed }.count == 2)
        #expect(
            records.contains { $0.syscall == "memory.show" && $0.owner == "alice" && $0.summary == "assistant" && $0.outcome == .completed }
        )
    }

    @Test func anAgentAskingForMemoryOnAKernelWithoutItFailsClearly() async throws {
        let kernel = Kernel(.init(processor: Self.rememberer))
        let status = try await run(kernel, "Hello", as: alice)
        guard case .failed(let reason) = status else {
            Issue.record("expected a failure, got \(status)")
            return
        }
        #expect(reason.contains("without persistent memory"))
    }
}
