import AnimaCore
import AnimaKernel
import AnimaProcessor
import Foundation
import Testing

@testable import AnimaTools

/// Tools reached the way agents reach them: a model's tool call, a syscall, the adapter.
@Suite("Tools through the kernel")
struct KernelToolTests {
    @Test func anAgentComputesWithTheCalculatorThroughTheAgentLoop() async throws {
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let audit = MemoryAuditTrail()
        let processor = ScriptedProcessor(slots: 1) { request in
            if let result = request.messages.last, result.role == .tool { return .text("2^100 is \(result.content).") }
            return .toolCalls([ToolCall(id: "c1", name: "calculator", arguments: ["expression": "2^100"])])
        }
        processor.startStepping()
        let tools = ToolAdapter.adapting(Toolbox.builtins(), workspaceBase: fixture.base)
        let kernel = Kernel(.init(processor: processor, tools: tools, audit: audit))
        let alice = Principal(name: "alice", groups: ["users"])
        let pid = try await kernel.spawn(AgentSpec(task: "What is 2^100?", tools: ["calculator"]), owner: alice)
        #expect(try await kernel.wait(pid) == .completed("2^100 is 1267650600228229401496703205376."))
        #expect(audit.records.filter { $0.pid == pid }.map(\.syscall) == ["generate", "call_tool", "generate"])
    }

    @Test func theKernelRefusesANetworkToolToAnAgentWithoutTheNetGroup() async throws {
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let audit = MemoryAuditTrail()
        let processor = ScriptedProcessor(slots: 1) { request in
            if let result = request.messages.last, result.role == .tool { return .text("tool said: \(result.content)") }
            return .toolCalls([ToolCall(id: "c1", name: "web_fetch", arguments: ["url": "http://127.0.0.1:9/"])])
        }
        processor.startStepping()
        let adapters = ToolAdapter.adapting(Toolbox.builtins(), workspaceBase: fixture.base)
        #expect(adapters.first { $0.definition.name == "web_fetch" }?.requiredGroups == ["net"])
        #expect(adapters.first { $0.definition.name == "calculator" }?.requiredGroups == [])
        let kernel = Kernel(.init(processor: processor, tools: adapters, audit: audit))
        let pid = try await kernel.spawn(AgentSpec(task: "fetch", tools: ["web_fetch"]), owner: Principal(name: "carol", groups: ["users"]))
        guard case .completed(let answer) = try await kernel.wait(pid) else {
            Issue.record("the agent did not complete")
            return
        }
        #expect(answer.hasPrefix("tool said: "))
        #expect(answer.contains("net"), "\(answer)")
        let record = try #require(audit.records.first { $0.pid == pid && $0.syscall == "call_tool" })
        #expect(record.outcome != .completed)
    }
}
