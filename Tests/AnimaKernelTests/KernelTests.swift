import AnimaCore
import AnimaProcessor
import AnimaSecurity
import AnimaTesting
import Synchronization
import Testing

@testable import AnimaKernel

/// A tool that adds two integers and counts how often it ran.
final class AddTool: SystemTool {
    let runs = Mutex(0)
    let requiredGroups: Set<String>
    let definition = ToolDefinition(
        name: "add", description: "Adds two integers",
        parameters: try! JSONSchema([
            "type": "object", "properties": ["a": ["type": "integer"], "b": ["type": "integer"]], "required": ["a", "b"],
        ]))

    init(requiredGroups: Set<String> = []) { self.requiredGroups = requiredGroups }

    func run(_ arguments: JSONValue, for caller: ProcessCredentials) async throws -> ToolOutput {
        runs.withLock { $0 += 1 }
        let sum = (arguments["a"]?.numberValue ?? 0) + (arguments["b"]?.numberValue ?? 0)
        return ToolOutput(text: JSONValue.number(sum).jsonText)
    }
}

let alice = Principal(name: "alice", groups: ["users"])
let bob = Principal(name: "bob", groups: ["users"])

func kernel(
    _ processor: ScriptedProcessor, tools: [any SystemTool] = [], clock: any Clock<Duration> = ContinuousClock(),
    audit: MemoryAuditTrail = MemoryAuditTrail()
) -> Kernel {
    processor.startStepping()
    return Kernel(.init(processor: processor, tools: tools, audit: audit, clock: clock))
}

/// A processor that asks for `add` on every turn, never answering, with a new first operand each time.
func endlessAdder() -> ScriptedProcessor {
    let counter = Mutex(0)
    return ScriptedProcessor(slots: 1, scheduler: Scheduler()) { _ in
        let n = counter.withLock { count in
            count += 1
            return count
        }
        return .toolCalls([call("add", ["a": .number(Double(n)), "b": 0])])
    }
}

func call(_ name: String, _ arguments: JSONValue, id: String = "c") -> ToolCall {
    ToolCall(id: id, name: name, arguments: arguments)
}

@Suite("Kernel")
struct KernelTests {
    @Test func agentLoopCallsAToolThroughASyscallAndAnswers() async throws {
        let audit = MemoryAuditTrail()
        let add = AddTool()
        let processor = ScriptedProcessor(slots: 2, scheduler: Scheduler()) { request in
            if let result = request.messages.last, result.role == .tool {
                return .text("The sum is \(DataBoundary.content(of: result.content) ?? result.content).")
            }
            return .toolCalls([call("add", ["a": 2, "b": 3])])
        }
        let k = kernel(processor, tools: [add], audit: audit)
        let pid = try await k.spawn(AgentSpec(task: "What is 2+3?", tools: ["add"]), owner: alice)
        #expect(try await k.wait(pid) == .completed("The sum is 5."))
        #expect(add.runs.withLock { $0 } == 1)
        #expect(audit.records.filter { $0.pid == pid }.map(\.syscall) == ["generate", "call_tool", "generate"])
        #expect(audit.records.allSatisfy { $0.outcome == .completed })
    }

    @Test func repeatingTheSameActionStopsTheAgent() async throws {
        let processor = ScriptedProcessor(slots: 1, scheduler: Scheduler()) { _ in .toolCalls([call("add", ["a": 1, "b": 1])]) }
        let k = kernel(processor, tools: [AddTool()])
        let pid = try await k.spawn(AgentSpec(task: "loop", tools: ["add"], limits: .init(maxSteps: 10, maxRepeats: 2)), owner: alice)
        let status = try await k.wait(pid)
        guard case .failed(let reason) = status else { Issue.record("\(status)"); return }
        #expect(reason.contains("same call 3 times"))
    }

    @Test func aRepeatedCallIsFollowedByAStepThatMayOnlyAnswer() async throws {
        // A small model echoes a tool's result back into the same tool; after the repeat
        // the agent offers no tools, and the model answers from what it has.
        // Whatever the strategy that answer may not start like a call (Qwen2.5-Coder-0.5B
        // under the native strategy wrote a third call as its answer).
        for strategy in AgentLoop.ToolStrategy.allCases {
            let constraint = Mutex<ToolConstraint?>(nil)
            let processor = ScriptedProcessor(slots: 1, scheduler: Scheduler()) { request in
                if request.tools.isEmpty { return .text("tool") }  // decide-first's question
                if request.toolChoice == .none {
                    #expect(request.messages.last?.content == "Answer my request with the tool results above: 1+1?")
                    constraint.withLock { $0 = request.toolConstraint }
                    return .text("It is 2.")
                }
                return .toolCalls([call("add", ["a": 1, "b": 1])])
            }
            let k = kernel(processor, tools: [AddTool()])
            var spec = AgentSpec(task: "1+1?", tools: ["add"], limits: .init(maxSteps: 10, maxRepeats: 2))
            spec.toolStrategy = strategy
            let pid = try await k.spawn(spec, owner: alice)
            #expect(try await k.wait(pid) == .completed("It is 2."), "\(strategy)")
            #expect(constraint.withLock { $0 } == .wholeAnswer, "\(strategy)")
        }
    }

    @Test func stepLimitStopsAnAgentThatNeverAnswers() async throws {
        let processor = endlessAdder()
        let k = kernel(processor, tools: [AddTool()])
        let pid = try await k.spawn(AgentSpec(task: "count", tools: ["add"], limits: .init(maxSteps: 3)), owner: alice)
        let status = try await k.wait(pid)
        #expect("\(status)".contains("no answer after 3 steps"))
    }

    @Test func tokenQuotaStopsAProcess() async throws {
        let processor = ScriptedProcessor(slots: 1, scheduler: Scheduler()) { _ in
            .text(Array(repeating: "word", count: 50).joined(separator: " "))
        }
        let k = kernel(processor)
        let pid = try await k.spawn(AgentSpec(task: "talk", quotas: Quotas(tokens: 5)), owner: alice)
        #expect(try await k.wait(pid) == .quotaExceeded("tokens (5)"))
        #expect(await k.status(pid)?.usage.generatedTokens == 5)
    }

    @Test func anAnswerCutAtItsOwnLimitIsReturnedEvenWhenItSpendsTheQuota() async throws {
        let processor = ScriptedProcessor(slots: 1, scheduler: Scheduler()) { _ in
            .text(Array(repeating: "word", count: 50).joined(separator: " "))
        }
        let k = kernel(processor)
        let pid = try await k.spawn(name: "exact", owner: alice, quotas: Quotas(tokens: 5)) { context in
            let answer = try await context.generate(GenerationRequest(messages: [.user("talk")], sampling: .greedy(maxTokens: 5)))
            #expect(answer.finishReason == .length)
            // The next generation finds nothing left.
            await #expect(throws: SyscallError.quotaExceeded("tokens (5)")) {
                try await context.generate(GenerationRequest(messages: [.user("more")], sampling: .greedy(maxTokens: 5)))
            }
            return answer.text
        }
        #expect(try await k.wait(pid) == .quotaExceeded("tokens (5)"))
        #expect(await k.status(pid)?.usage.generatedTokens == 5)
    }

    @Test func toolCallQuotaStopsAProcess() async throws {
        let add = AddTool()
        let processor = endlessAdder()
        let k = kernel(processor, tools: [add])
        let pid = try await k.spawn(AgentSpec(task: "count", tools: ["add"], quotas: Quotas(toolCalls: 2)), owner: alice)
        #expect(try await k.wait(pid) == .quotaExceeded("tool calls (2)"))
        #expect(add.runs.withLock { $0 } == 2)
    }

    @Test func wallTimeQuotaStopsAProcess() async throws {
        let clock = VirtualClock()
        let k = kernel(ScriptedProcessor(slots: 1, scheduler: Scheduler()) { _ in .text("x") }, clock: clock)
        let pid = try await k.spawn(name: "sleeper", owner: alice, quotas: Quotas(wallTime: .seconds(10))) { context in
            _ = try await context.receive()  // nothing will come
            return "woke"
        }
        while clock.sleeperCount == 0 { await Task.yield() }
        clock.advance(by: .seconds(9))
        #expect(await k.status(pid)?.state.isAlive == true)
        clock.advance(by: .seconds(1))
        #expect(try await k.wait(pid) == .quotaExceeded("wall time (10.0 seconds)"))
    }

    @Test func killDuringGenerationFreesTheSlotAtOnce() async throws {
        let processor = ScriptedProcessor(slots: 1, scheduler: Scheduler()) { _ in
            .text(Array(repeating: "word", count: 100_000).joined(separator: " "))
        }
        let k = Kernel(.init(processor: processor))  // manual steps
        let pid = try await k.spawn(AgentSpec(task: "talk"), owner: alice)
        while await k.status(pid)?.state != .running {
            processor.step()
            await Task.yield()
        }
        #expect(processor.occupancy.running == 1)
        try await k.signal(pid, .terminate, from: alice)
        #expect(processor.occupancy == (0, 0))
        #expect(try await k.wait(pid) == .killed)
    }

    @Test func deniedSyscallsHaveNoSideEffect() async throws {
        let audit = MemoryAuditTrail()
        let netTool = AddTool(requiredGroups: ["net"])
        let processor = ScriptedProcessor(slots: 2, scheduler: Scheduler()) { _ in .text("ok") }
        let k = kernel(processor, tools: [netTool], audit: audit)
        let victim = try await k.spawn(name: "bob's", owner: bob) { context in
            try await context.receive(timeout: .seconds(30)).map { $0.body.jsonText } ?? "nothing"
        }
        let outcomes = Mutex<[String]>([])
        let attacker = try await k.spawn(name: "alice's", owner: alice) { context in
            for attempt: Syscall in [
                .signal(victim, .terminate), .send(to: victim, "hijack"), .wait(victim),
                .callTool(call("add", ["a": 1, "b": 2])),
                .spawn(AgentSpec(task: "escalate", groups: ["net"])),
            ] {
                do {
                    _ = try await context.syscall(attempt)
                    outcomes.withLock { $0.append("allowed \(attempt.name)") }
                } catch let error as SyscallError {
                    outcomes.withLock { $0.append("\(error)") }
                }
            }
            return "done"
        }
        _ = try await k.wait(attacker)
        let seen = outcomes.withLock { $0 }
        #expect(seen.count == 5)
        #expect(seen.allSatisfy { $0.hasPrefix("permission denied") }, "\(seen)")
        #expect(netTool.runs.withLock { $0 } == 0)
        #expect(await k.status(victim)?.state.isAlive == true)
        #expect(await k.processes().count == 2)  // no child was spawned
        #expect(audit.records.filter { if case .denied = $0.outcome { true } else { false } }.count == 5)
        try await k.signal(victim, .terminate, from: bob)
    }

    @Test func ipcDeliversInOrder() async throws {
        let k = kernel(ScriptedProcessor(slots: 1, scheduler: Scheduler()) { _ in .text("x") })
        let receiver = try await k.spawn(name: "receiver", owner: alice) { context in
            var got: [String] = []
            while got.count < 20, let message = try await context.receive() { got.append(message.body.jsonText) }
            return got.joined(separator: ",")
        }
        let sender = try await k.spawn(name: "sender", owner: alice) { context in
            for i in 1...20 { try await context.send(.number(Double(i)), to: receiver) }
            return "sent"
        }
        #expect(try await k.wait(sender) == .completed("sent"))
        #expect(try await k.wait(receiver) == .completed((1...20).map(String.init).joined(separator: ",")))
    }

    @Test func receiveTimesOutEmptyHanded() async throws {
        let clock = VirtualClock()
        let k = kernel(ScriptedProcessor(slots: 1, scheduler: Scheduler()) { _ in .text("x") }, clock: clock)
        let pid = try await k.spawn(name: "waiter", owner: alice) { context in
            try await context.receive(timeout: .seconds(5)) == nil ? "timed out" : "got one"
        }
        while clock.sleeperCount == 0 { await Task.yield() }
        clock.advance(by: .seconds(5))
        #expect(try await k.wait(pid) == .completed("timed out"))
    }

    @Test func childrenInheritAtMostTheirParentsGroups() async throws {
        let k = kernel(ScriptedProcessor(slots: 2, scheduler: Scheduler()) { _ in .text("child answer") })
        let owner = Principal(name: "carol", groups: ["users", "net"])
        let parent = try await k.spawn(name: "parent", owner: owner, groups: ["users"]) { context in
            let child = try await context.spawn(AgentSpec(name: "child", task: "help"))
            return "\(try await context.wait(child))"
        }
        #expect(try await k.wait(parent) == .completed("completed"))
        let child = try #require(await k.processes().first { $0.name == "child" })
        #expect(child.groups == ["users"])
        #expect(child.parent == parent)
        #expect(await k.processes().first { $0.pid == parent }?.groups == ["users"])
    }

    @Test func suspendAndResumeAProcess() async throws {
        let processor = ScriptedProcessor(slots: 1, scheduler: Scheduler()) { request in .text(request.messages.last!.content) }
        let k = Kernel(.init(processor: processor))
        let long = Array(repeating: "a", count: 20).joined(separator: " ")
        let pid = try await k.spawn(AgentSpec(task: long), owner: alice)
        while await k.status(pid)?.state != .running {
            processor.step()
            await Task.yield()
        }
        try await k.signal(pid, .suspend, from: alice)
        #expect(await k.status(pid)?.state == .suspended)
        #expect(processor.occupancy.running == 0)
        for _ in 0..<5 { processor.step() }  // nothing runs while it is suspended
        let served = processor.serviceLog.count
        try await k.signal(pid, .resume, from: alice)
        processor.startStepping()
        #expect(try await k.wait(pid) == .completed(long))
        #expect(processor.serviceLog.count == 20)
        #expect(served < 20)
    }

    @Test func usersSeeOnlyTheirOwnProcesses() async throws {
        let k = kernel(ScriptedProcessor(slots: 2, scheduler: Scheduler()) { _ in .text("x") })
        let a = try await k.spawn(name: "a", owner: alice) { _ in "a" }
        let b = try await k.spawn(name: "b", owner: bob) { _ in "b" }
        _ = try await (k.wait(a), k.wait(b))
        #expect(await k.processes(visibleTo: alice).map(\.pid) == [a])
        #expect(await k.processes(visibleTo: .root).map(\.pid) == [a, b])
        await #expect(throws: SyscallError.self) { try await k.signal(b, .terminate, from: alice) }
    }
}

@Suite struct ProcessTableTests {
    @Test func exitedProcessesAreReapedSoTheTableStaysBounded() async throws {
        let k = Kernel(.init(processor: ScriptedModel(replies: [])))
        // Requests from outside run as short-lived processes, reaped when answered.
        for i in 0..<50 { _ = try await k.invoke(.memory(.write(key: "k\(i)", value: .number(Double(i)))), as: alice) }
        #expect(await k.processes().isEmpty)
        // Other exited processes stay listed, the newest 1024 of them.
        for _ in 0..<1100 {
            let pid = try await k.spawn(name: "p", owner: alice) { _ in "done" }
            _ = try await k.wait(pid)
        }
        let listed = await k.processes()
        #expect(listed.count == 1024)
        #expect(listed.allSatisfy { !$0.state.isAlive })
        #expect(listed.first?.pid == PID(2 + 50 + 1100 - 1024))
    }
}
