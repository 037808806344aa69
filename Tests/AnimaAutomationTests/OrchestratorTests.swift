import AnimaAutomation
import AnimaCore
import AnimaKernel
import AnimaProcessor
import AnimaTesting
import Foundation
import Synchronization
import Testing

@Suite("The orchestrator")
struct OrchestratorTests {
    /// A model that answers by role: the planner, the test writer, the coder, the reviewer and the writer.
    static func model(
        plan: String = #"{"nodes":[{"id":"a","role":"coder","goal":"add two numbers","inputs":[],"tools":[]}]}"#,
        coder: @escaping @Sendable (GenerationRequest) -> String = { _ in coderAnswer },
        writer: @escaping @Sendable (GenerationRequest) -> ScriptedModel.Reply = { _ in .text("The report.") }
    ) -> ScriptedModel {
        ScriptedModel { request in
            let system = system(of: request)
            if system.contains("You plan work") { return .text(plan) }
            if system.contains("You write small, exact Python tests") { return .text(testsAnswer) }
            if system.contains("careful Python programmer") { return .text(coder(request)) }
            if system.contains("You review failed work") { return .text("It returned prose instead of JSON; answer with JSON.") }
            return writer(request)
        }
    }

    func setup(
        _ model: ScriptedModel, runner: MarkerRunner = MarkerRunner(), options: Orchestrator.Options = .init(), tools: [any SystemTool] = []
    )
        throws -> (Kernel, Orchestrator)
    {
        let kernel = Kernel(.init(processor: model, tools: tools))
        let directory = temporaryDirectory()
        let orchestrator = Orchestrator(
            kernel: kernel, store: try TaskStore(directory: directory), skills: try SkillLibrary(directory: directory), runner: runner,
            options: options)
        return (kernel, orchestrator)
    }

    @Test func subtasksRunAsNarrowerChildrenInParallelAndHandOverTypedResults() async throws {
        let model = Self.model()
        let runner = MarkerRunner(peers: 2)
        let (kernel, orchestrator) = try setup(model, runner: runner)
        let events = await kernel.events()
        let plan = TaskGraph(
            goal: "g",
            nodes: [
                TaskNode(id: "a", role: .coder, goal: "add two numbers"),
                TaskNode(id: "b", role: .coder, goal: "add three numbers", module: "three.py"),
                TaskNode(id: "doc", role: .writer, goal: "describe both", inputs: ["a", "b"]),
            ])
        let (task, answer) = try await orchestrator.run(goal: "two adders and a note", owner: alice, plan: plan)
        let json = try JSONValue(parsing: answer)
        #expect(json["outputs"]?["doc"]?.stringValue == "The report.")
        #expect(runner.mostAtOnce == 2, "the two coders ran at once")

        // Each subtask was a child of the orchestrator with only its specialist's groups.
        var spawned: [ProcessStatus] = []
        for await event in events {
            if case .spawned(let status) = event { spawned.append(status) }
            if spawned.count == 4 { break }
        }
        let orchestratorPID = try #require(spawned.first { $0.name == "orchestrator" }?.pid)
        let children = spawned.filter { $0.parent == orchestratorPID }
        #expect(Set(children.map(\.name)) == ["coder-a", "coder-b", "writer-doc"])
        #expect(children.allSatisfy { $0.groups.isEmpty }, "\(children.map(\.groups))")
        #expect(spawned.first { $0.name == "orchestrator" }?.groups == ["net", "users"])

        // The writer read the coders' results as delimited data.
        let writerRequest = try #require(model.requests.first { $0.messages.contains { $0.content.contains("describe both") } })
        #expect(writerRequest.messages.contains { $0.content.contains("<data>") && $0.content.contains("return a + b") })

        // Persisted: the graph, each subtask's state and measured outcome.
        let record = try await orchestrator.store.task(task, owner: "alice")
        #expect(record.state == TaskState.passed)
        #expect(record.graph?.nodes.count == 3)
        #expect(record.nodes.allSatisfy { $0.state == TaskState.passed })
        let coder = try #require(record.nodes.first { $0.id == "a" })
        #expect(coder.outcome?["tests_passed"]?.numberValue == 2)
        #expect(coder.outcome?["verdict"]?.stringValue == "pass")
        // The acceptance tests were written before any code, by the orchestrator.
        let firstTests = try #require(model.requests.firstIndex { system(of: $0).contains("exact Python tests") })
        let firstCode = try #require(model.requests.firstIndex { system(of: $0).contains("careful Python programmer") })
        #expect(firstTests < firstCode)
        #expect(record.graph?["a"]?.tests?.contains("def test_add") == true)
        // Both coders became skills.
        #expect(try await orchestrator.skills!.list(owner: "alice").count == 2)
        // Ratings are recorded on the task and its subtasks.
        try await orchestrator.store.rate(task, owner: "alice", up: false)
        #expect(try await orchestrator.store.task(task, owner: "alice").nodes.allSatisfy { $0.rating == -1 })
        await #expect(throws: TaskError.self) { try await orchestrator.store.rate(task, owner: "mallory", up: true) }
        await #expect(throws: TaskError.self) { try await orchestrator.store.task(task, owner: "mallory") }
    }

    @Test func aHandoffThatBreaksItsSchemaIsRetriedWithAReflection() async throws {
        let model = Self.model(writer: { request in
            request.messages.contains { $0.content.contains("Reflection:") } ? .text(#"{"n": 1}"#) : .text("some prose")
        })
        let (_, orchestrator) = try setup(model)
        let plan = TaskGraph(
            goal: "g",
            nodes: [
                TaskNode(
                    id: "w", role: .writer, goal: "count",
                    output: ["type": "object", "properties": ["n": ["type": "integer"]], "required": ["n"]])
            ])
        let (task, answer) = try await orchestrator.run(goal: "count", owner: alice, plan: plan)
        #expect(try JSONValue(parsing: answer)["outputs"]?["w"] == ["n": 1])
        let node = try #require(try await orchestrator.store.task(task, owner: "alice").nodes.first)
        #expect(node.attempts == 2)
        #expect(model.requests.contains { system(of: $0).contains("You review failed work") && lastUser(of: $0).contains("not JSON") })
    }

    @Test func failuresAreRetriedThenReplannedThenReportedNeverLooping() async throws {
        let model = Self.model(coder: { _ in "```python\ndef add(a, b):\n    return a * b\n```" })
        let runner = MarkerRunner()
        let options = Orchestrator.Options(attempts: 2, replans: 1, refine: .init(steps: 2, tokensPerStep: 64))
        let (_, orchestrator) = try setup(model, runner: runner, options: options)
        do {
            _ = try await orchestrator.run(goal: "add", owner: alice)
            Issue.record("a task whose tests never pass cannot succeed")
        } catch let error as TaskRunError {
            #expect(error.reason.contains("tried"))
            #expect(error.reason.contains("a attempt 2"))
            #expect(error.reason.contains("re-planned"))
            let record = try await orchestrator.store.task(error.task, owner: "alice")
            #expect(record.state == .failed)
            #expect(record.report?.contains("acceptance tests") == true)
        }
        #expect(model.requests.filter { system(of: $0).contains("You plan work") }.count == 2)
        // 2 plans × 2 attempts × 2 refine steps, and not one more.
        #expect(runner.runs.count == 8)
        #expect(model.requests.filter { system(of: $0).contains("You review failed work") }.count == 2)
    }

    @Test func killingTheOrchestratorKillsItsChildren() async throws {
        let model = Self.model(coder: { _ in "```python\nHANG\n```" })
        let (kernel, orchestrator) = try setup(model, options: .init(attempts: 1, replans: 0, refine: .init(steps: 1)))
        let (task, pid) = try await orchestrator.start(goal: "hang", owner: alice)
        var child: ProcessStatus?
        for _ in 0..<500 {
            // Running: its process is in the table and recorded on the subtask.
            let recorded = try await orchestrator.store.task(task, owner: "alice").nodes.first?.pid
            child = await kernel.processes().first { $0.name == "coder-a" && recorded == Int($0.pid.rawValue) }
            if child != nil { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        let coder = try #require(child)
        try await kernel.signal(pid, .terminate)
        #expect(try await kernel.wait(pid) == AnimaKernel.ExitStatus.killed)
        let status = try await withThrowingTaskGroup(of: Optional<AnimaKernel.ExitStatus>.self) { group in
            group.addTask { try await kernel.wait(coder.pid) }
            group.addTask {
                try await Task.sleep(for: .seconds(10))
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
        #expect(status == AnimaKernel.ExitStatus.killed, "the child must die with its orchestrator")
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await orchestrator.store.task(task, owner: "alice").state == .killed)
    }

    @Test func aChildCannotUseAToolItsSubtaskWasNotGiven() async throws {
        let net = NetTool()
        let fetch = ToolCall(id: "c1", name: "web_fetch", arguments: ["url": "https://example.org"])
        let model = Self.model(writer: { request in
            request.messages.contains { $0.role == .tool } ? .text("done") : .toolCalls([fetch])
        })
        let (_, orchestrator) = try setup(model, tools: [net])
        let writerOnly = TaskGraph(goal: "g", nodes: [TaskNode(id: "w", role: .writer, goal: "write")])
        _ = try await orchestrator.run(goal: "write", owner: alice, plan: writerOnly)
        #expect(net.calls.withLock { $0 } == 0, "a writer holds no net group")
        let researcher = TaskGraph(goal: "g", nodes: [TaskNode(id: "r", role: .researcher, goal: "look up", tools: ["web_fetch"])])
        _ = try await orchestrator.run(goal: "look up", owner: alice, plan: researcher)
        #expect(net.calls.withLock { $0 } == 1, "a researcher given the tool may use it")
        // A plan that hands a writer the tool is refused before anything runs.
        let bad = TaskGraph(goal: "g", nodes: [TaskNode(id: "w", role: .writer, goal: "write", tools: ["web_fetch"])])
        await #expect(throws: TaskError.self) { try await orchestrator.run(goal: "x", owner: alice, plan: bad) }
    }

    @Test func aLaterSimilarTaskReusesTheSkillAndAFailureDemotesIt() async throws {
        let model = Self.model(coder: { request in
            // Passes only when shown the earlier verified solution.
            request.messages.contains { $0.content.contains("verified solution") } ? coderAnswer : "```python\nnope\n```"
        })
        let options = Orchestrator.Options(attempts: 1, replans: 0, refine: .init(steps: 1))
        let (_, orchestrator) = try setup(model, options: options)
        let skills = orchestrator.skills!
        _ = try await skills.add(
            owner: "alice", description: "add two numbers and return the sum", module: "solution.py", code: "def add(a, b): return a + b",
            tests: [:], provenance: "earlier")
        let plan = TaskGraph(goal: "g", nodes: [TaskNode(id: "a", role: .coder, goal: "add two numbers, returning their sum")])
        _ = try await orchestrator.run(goal: "sum", owner: alice, plan: plan)
        let all = try await skills.list(owner: "alice")
        #expect(all.count == 2)
        #expect(all.first { $0.provenance == "earlier" }?.successes == 1)

        // A coder that fails with a skill in its prompt counts against it (one skill, the closest,
        // is offered at a time): the new skill goes after one failure, the one that had helped
        // once after two.
        let failing = Self.model(coder: { _ in "```python\nnope\n```" })
        let later = Orchestrator(
            kernel: Kernel(.init(processor: failing)), store: orchestrator.store, skills: skills, runner: MarkerRunner(), options: options)
        for _ in 0..<3 { await #expect(throws: TaskRunError.self) { try await later.run(goal: "sum", owner: alice, plan: plan) } }
        #expect(try await skills.list(owner: "alice").allSatisfy(\.isDemoted))
        #expect(try await skills.retrieve("add two numbers", owner: "alice").isEmpty)
    }

    @Test func aSkillCountsOnlyWhenTheCoderWasShownIt() async throws {
        // Two steps: skills join at the retry, and this coder passes with its first answer.
        let options = Orchestrator.Options(attempts: 1, replans: 0, refine: .init(steps: 2))
        let (_, orchestrator) = try setup(Self.model(), options: options)
        let skills = orchestrator.skills!
        let earlier = try await skills.add(
            owner: "alice", description: "add two numbers and return the sum", module: "solution.py", code: "def add(a, b): return a + b",
            tests: [:], provenance: "earlier")
        let plan = TaskGraph(goal: "g", nodes: [TaskNode(id: "a", role: .coder, goal: "add two numbers, returning their sum")])
        _ = try await orchestrator.run(goal: "sum", owner: alice, plan: plan)
        let kept = try await skills.skill(earlier.id, owner: "alice")
        #expect(kept.successes == 0 && kept.failures == 0)
        #expect(try await skills.list(owner: "alice").count == 2, "the new solution is still kept")
    }

    /// Qwen2.5-Coder-0.5B planned "Write reverse_words(s)" as four subtasks whose goals were
    /// only their roles ("Write one Python file that must pass tests"), and the test writer
    /// wrote tests of a calculator. Every subtask now works with the whole task's goal.
    @Test func aSubtaskWhoseGoalIsOnlyItsRoleStillServesTheWholeTask() async throws {
        let goal = "Write a Python function reverse_words(s) that reverses the order of words"
        let plan =
            #"{"nodes":[{"id":"1","role":"coder","goal":"Write one Python file that must pass tests","inputs":[],"tools":[]},"#
            + #"{"id":"2","role":"writer","goal":"Explain the function","inputs":["1"],"tools":[]}]}"#
        let model = Self.model(plan: plan)
        let (_, orchestrator) = try setup(model)
        _ = try await orchestrator.run(goal: goal, owner: alice)
        for role in ["You write small, exact Python tests", "careful Python programmer", "You write clear, short prose"] {
            let request = try #require(model.requests.first { system(of: $0).contains(role) }, "\(role)")
            #expect(request.messages.contains { $0.content.contains("part of the whole task: \(goal)") }, "\(role)")
        }
    }

    @Test func anEmptyGoalIsRefused() async throws {
        let (_, orchestrator) = try setup(Self.model())
        await #expect(throws: TaskError.self) { try await orchestrator.run(goal: "  \n", owner: alice) }
    }
}
