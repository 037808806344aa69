import AnimaAutomation
import AnimaCore
import AnimaKernel
import AnimaProcessor
import AnimaTesting
import Foundation
import Synchronization
import Testing

/// An agent step's `model` reaches the processor as the request's pinned model, and a
/// model the kernel does not serve fails the step with what it does serve.
@Suite("Workflow agent steps and their model")
struct AgentStepModelTests {
    @Test(.timeLimit(.minutes(1))) func theStepsModelIsPinnedOrRefused() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anima-wf-model-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pins = Mutex<[String?]>([])
        let processor = ScriptedProcessor(slots: 1, scheduler: Scheduler(), name: "tiny-model") { request in
            pins.withLock { $0.append(request.pinnedProcessor) }
            return .text("done")
        }
        processor.startStepping()
        let kernel = Kernel(try .standard(processor: processor, tools: [], dataDirectory: dir))
        let store = try SQLiteWorkflowStore(directory: URL(fileURLWithPath: dir))
        let engine = WorkflowEngine(store: store, actions: KernelStepActions(kernel: kernel), pollInterval: .milliseconds(10))
        _ = try await engine.add(
            #"{"name": "pinned", "steps": [{"id": "a", "type": "agent", "task": "say done", "model": "tiny-model"}]}"#, owner: alice)
        let ok = try await engine.wait(try await engine.start("pinned", caller: alice).id)
        #expect(ok.status == .completed, "\(ok.error ?? "")")
        #expect(ok.output?.value == "done")
        #expect(pins.withLock { $0 }.allSatisfy { $0 == "tiny-model" } && !pins.withLock { $0 }.isEmpty)

        _ = try await engine.add(
            #"{"name": "elsewhere", "steps": [{"id": "a", "type": "agent", "task": "say done", "model": "gpt-9"}]}"#, owner: alice)
        let refused = try await engine.wait(try await engine.start("elsewhere", caller: alice).id)
        #expect(refused.status == .failed)
        #expect(refused.error?.contains("model gpt-9") == true && refused.error?.contains("tiny-model") == true, "\(refused.error ?? "")")

        // Without a model the router (here: the one model) chooses: nothing is pinned.
        pins.withLock { $0 = [] }
        _ = try await engine.add(#"{"name": "free", "steps": [{"id": "a", "type": "agent", "task": "say done"}]}"#, owner: alice)
        #expect(try await engine.wait(try await engine.start("free", caller: alice).id).status == .completed)
        #expect(pins.withLock { $0 }.allSatisfy { $0 == nil } && !pins.withLock { $0 }.isEmpty)
    }
}
