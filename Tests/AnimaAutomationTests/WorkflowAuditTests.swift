import AnimaAutomation
import AnimaCore
import AnimaKernel
import AnimaSecurity
import Foundation
import Testing

/// A run's lifecycle goes to the kernel's hash-chained audit log with the syscalls: digests
/// of values, never the values, and the chain still verifies.
@Suite("Workflow lifecycle in the audit log")
struct WorkflowAuditTests {
    @Test(.timeLimit(.minutes(1))) func lifecycleIsChainedAndHoldsNoValues() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anima-wf-audit-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let kernel = Kernel(try .standard(processor: nil, tools: [], dataDirectory: dir))
        let store = try SQLiteWorkflowStore(directory: URL(fileURLWithPath: dir))
        let engine = WorkflowEngine(store: store, actions: AuditedActions(kernel: kernel), pollInterval: .milliseconds(10))
        _ = try await engine.add(
            #"""
            {"name": "audited", "groups": ["net"], "steps": [
              {"id": "fetch", "type": "http", "url": "https://api.example/x", "body": "${inputs.secret}"},
              {"id": "ok", "type": "approval", "prompt": "send ${inputs.secret}?"}]}
            """#, owner: alice)
        let first = try await engine.start("audited", inputs: ["secret": "quokka-77-private"], caller: alice)
        _ = try await engine.wait(first.id, orWaiting: true)
        try await engine.approve(first.id, step: "ok", approved: true, caller: alice)
        let done = try await engine.wait(first.id)
        #expect(done.status == .completed, "\(done.error ?? "")")

        _ = try await engine.add(
            #"{"name": "failing", "groups": ["net"], "steps": [{"id": "boom", "type": "http", "url": "https://api.example/fail"}]}"#,
            owner: alice)
        let failed = try await engine.wait(try await engine.start("failing", caller: alice).id)
        #expect(failed.status == .failed)

        let waiting = try await engine.start("audited", inputs: ["secret": "quokka-77-private"], caller: alice)
        _ = try await engine.wait(waiting.id, orWaiting: true)
        #expect(try await engine.cancel(waiting.id, caller: alice))
        #expect(try await engine.wait(waiting.id).status == .cancelled)

        let verification = try AuditLog.verify(at: dir + "/" + AuditLog.fileName, as: .root)
        #expect(verification.problem == nil, "\(verification)")
        let text = try String(contentsOfFile: dir + "/" + AuditLog.fileName, encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init)
        func count(_ action: String, _ run: String) -> Int {
            lines.filter { $0.contains(action) && $0.contains("run \(run)") }.count
        }
        #expect(count("workflow.run-started", first.id) == 1)
        #expect(count("workflow.step-completed", first.id) == 2)
        #expect(count("workflow.approved", first.id) == 1)
        #expect(count("workflow.run-completed", first.id) == 1)
        #expect(count("workflow.step-failed", failed.id) == 1)
        #expect(count("workflow.run-failed", failed.id) == 1)
        #expect(count("workflow.cancel-requested", waiting.id) == 1)
        #expect(count("workflow.run-cancelled", waiting.id) == 1)
        // Values appear only as keyed digests.
        #expect(!text.contains("quokka-77-private"))
        #expect(lines.contains { $0.contains("workflow.step-completed") && $0.contains("hmac:") })
    }
}

/// The kernel records lifecycle events; HTTP answers from a script (fails on /fail).
struct AuditedActions: StepActions {
    let kernel: Kernel
    var kernelActions: KernelStepActions { KernelStepActions(kernel: kernel) }

    func runAgent(_ request: AgentStepRequest, as owner: Principal) async throws -> LabeledValue {
        throw StepFailure("no agents here", retryable: false)
    }
    func callTool(_ name: String, arguments: JSONValue, as owner: Principal) async throws -> LabeledValue {
        throw StepFailure("no tools here", retryable: false)
    }
    func http(_ request: HTTPStepRequest) async throws -> LabeledValue {
        if request.url.path == "/fail" { throw StepFailure("the server said no to \(request.body ?? "")", retryable: false) }
        return LabeledValue(.object(["echo": .string(request.body ?? "")]), label: ProvenanceLabel(.web))
    }
    func record(_ event: RunEvent) async { await kernelActions.record(event) }
}
