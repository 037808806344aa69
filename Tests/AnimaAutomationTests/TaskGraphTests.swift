import AnimaAutomation
import AnimaCore
import AnimaProcessor
import AnimaTesting
import Foundation
import Testing

@Suite("Task graphs and the planner")
struct TaskGraphTests {
    func graph(_ nodes: [TaskNode]) -> TaskGraph { TaskGraph(goal: "g", nodes: nodes) }

    @Test func aValidGraphRunsEachSubtaskAfterItsInputs() throws {
        let g = graph([
            TaskNode(id: "doc", role: .writer, goal: "write", inputs: ["a", "b"]),
            TaskNode(id: "a", role: .coder, goal: "code a"),
            TaskNode(id: "b", role: .researcher, goal: "look up", tools: ["web_fetch"]),
        ])
        try g.validate(knownTools: ["web_fetch"])
        let order = try g.order().map(\.id)
        #expect(order.last == "doc")
        #expect(Set(order.prefix(2)) == ["a", "b"])
    }

    @Test func badGraphsAreRefusedWithTheReason() {
        let cases: [(TaskGraph, String)] = [
            (graph([]), "no subtasks"),
            (
                graph([
                    TaskNode(id: "a", role: .writer, goal: "x", inputs: ["b"]), TaskNode(id: "b", role: .writer, goal: "y", inputs: ["a"]),
                ]), "cycle"
            ),
            (graph([TaskNode(id: "a", role: .writer, goal: "x", inputs: ["ghost"])]), "ghost, which does not exist"),
            (graph([TaskNode(id: "a", role: .writer, goal: "x", inputs: ["a"])]), "its own output"),
            (graph([TaskNode(id: "a", role: .researcher, goal: "x", tools: ["shell"])]), "does not have"),
            (graph([TaskNode(id: "a", role: .writer, goal: "x", tools: ["web_fetch"])]), "may not use web_fetch"),
            (graph([TaskNode(id: "a", role: .writer, goal: "x"), TaskNode(id: "a", role: .writer, goal: "y")]), "two subtasks"),
            (graph([TaskNode(id: "a b", role: .writer, goal: "x")]), "must be 1-64"),
            (graph([TaskNode(id: "a", role: .writer, goal: "  ")]), "no goal"),
            (graph([TaskNode(id: "a", role: .writer, goal: "x", output: ["type": "nonsense"])]), "does not compile"),
            (graph([TaskNode(id: "a", role: .coder, goal: "x", module: "../evil.py")]), "plain file name"),
            (graph([TaskNode(id: "a", role: .coder, goal: "x", module: "test_acceptance.py")]), "plain file name"),
            (graph((0..<17).map { TaskNode(id: "n\($0)", role: .writer, goal: "x") }), "at most 16"),
        ]
        for (g, reason) in cases {
            #expect(throws: TaskError.self) { try g.validate(knownTools: ["web_fetch"]) }
            do {
                try g.validate(knownTools: ["web_fetch"])
            } catch {
                #expect(error.description.contains(reason), "\(error) should say \(reason)")
            }
        }
    }

    @Test func aGraphReadsBackFromItsJSON() throws {
        let g = graph([
            TaskNode(id: "a", role: .coder, goal: "x", tests: "def test_x(): pass"),
            TaskNode(id: "b", role: .writer, goal: "y", inputs: ["a"]),
        ])
        let back = try TaskGraph(json: g.json, goal: "g")
        #expect(back == g)
    }

    @Test func thePlannerAsksOnceMoreWithTheReasonAndThenGivesUp() async throws {
        let bad = #"{"nodes":[{"id":"a","role":"writer","goal":"x","inputs":["zzz"],"tools":[]}]}"#
        let good = #"{"nodes":[{"id":"a","role":"coder","goal":"add","inputs":[],"tools":[]}]}"#
        let model = ScriptedModel(replies: [.text(bad), .text(good)])
        let planner = TaskPlanner(knownTools: [])
        let plan = try await planner.plan("add numbers") { try await model.generate($0).collect() }
        #expect(plan.nodes.map(\.id) == ["a"])
        #expect(model.requests.count == 2)
        #expect(lastUser(of: model.requests[1]).contains("zzz, which does not exist"))
        if case .jsonSchema = model.requests[0].responseFormat {} else { Issue.record("the plan is asked under a schema") }

        let stubborn = ScriptedModel(replies: [.text(bad), .text("not json at all")])
        await #expect(throws: TaskError.self) { try await planner.plan("x") { try await stubborn.generate($0).collect() } }
        #expect(stubborn.requests.count == 2, "exactly one re-ask, never a loop")
    }

    /// Qwen2.5-Coder-0.5B, asked to write `reverse_words(s)`, lists the function as the
    /// subtask's input, and again when told; the plan then runs without that input.
    @Test func inputsThatNameNoSubtaskAreDroppedWhenAskingAgainDidNotHelp() async throws {
        let dangling =
            #"{"nodes":[{"id":"1","role":"coder","goal":"write reverse_words","inputs":["reverse_words","1"],"tools":[]},"#
            + #"{"id":"2","role":"writer","goal":"document it","inputs":["1","docs"],"tools":[]}]}"#
        let model = ScriptedModel(replies: [.text(dangling), .text(dangling)])
        let plan = try await TaskPlanner(knownTools: []).plan("reverse words") { try await model.generate($0).collect() }
        #expect(model.requests.count == 2, "asked again first, with the reason")
        #expect(plan.nodes.map(\.inputs) == [[], ["1"]])  // a real input stays

        // Repair never hides another fault: a cycle is still refused.
        let cycle =
            #"{"nodes":[{"id":"a","role":"coder","goal":"x","inputs":["b","nope"],"tools":[]},"#
            + #"{"id":"b","role":"coder","goal":"y","inputs":["a"],"tools":[]}]}"#
        let looping = ScriptedModel(replies: [.text(cycle), .text(cycle)])
        await #expect(throws: TaskError.self) {
            try await TaskPlanner(knownTools: []).plan("x") { try await looping.generate($0).collect() }
        }
    }

    /// The 0.5B planned "Write a Python function slugify(text) ..." as six writers with that
    /// same goal: one runs, and the planner asks once for a coder, since only a coder's code is
    /// tested; answered the same, the writer becomes the coder.
    @Test func aRepeatedSubtaskRunsOnceAndCodeGoesToACoder() async throws {
        let writer = #"{"id":"ID","role":"writer","goal":"Write a Python function slugify(text)","inputs":[],"tools":[]}"#
        let six = #"{"nodes":["# + (1...6).map { writer.replacingOccurrences(of: "ID", with: "\($0)") }.joined(separator: ",") + "]}"
        let model = ScriptedModel(replies: [.text(six), .text(six)])
        let goal = "Write a Python function slugify(text) that lowercases and joins words with -"
        let plan = try await TaskPlanner(knownTools: []).plan(goal) { try await model.generate($0).collect() }
        #expect(plan.nodes.map(\.id) == ["1"])
        #expect(plan.nodes.first?.role == .coder, "a writer asked for code, where no one codes, codes")
        #expect(plan.nodes.first?.output == TaskNode.coderOutput)
        #expect(model.requests.count == 2)
        #expect(lastUser(of: model.requests[1]).contains("no subtask is a coder"))
        // SmolLM2's plan: one writer whose goal is a number. Alone, it is the coder.
        let lone = #"{"nodes":[{"id":"1","role":"writer","goal":"1234567890","inputs":[],"tools":[]}]}"#
        let small = ScriptedModel(replies: [.text(lone), .text(lone)])
        #expect(try await TaskPlanner(knownTools: []).plan(goal) { try await small.generate($0).collect() }.nodes.map(\.role) == [.coder])
        // Beside a coder, or for a goal that is not code, a writer stays a writer.
        let both =
            #"{"nodes":[{"id":"1","role":"coder","goal":"slugify","inputs":[],"tools":[]},"#
            + #"{"id":"2","role":"writer","goal":"Explain the Python function","inputs":["1"],"tools":[]}]}"#
        let paired = ScriptedModel(replies: [.text(both)])
        #expect(
            try await TaskPlanner(knownTools: []).plan(goal) { try await paired.generate($0).collect() }.nodes.map(\.role) == [
                .coder, .writer,
            ])

        // Advice is not a refusal: when the second answer is no plan at all, the first one runs.
        let garbled = ScriptedModel(replies: [.text(six), .text("not json")])
        let first = try await TaskPlanner(knownTools: []).plan(goal) { try await garbled.generate($0).collect() }
        #expect(first.nodes.map(\.role) == [.coder])
        // Asked once: the second plan stands as it is. A goal that is not code is not asked again.
        let prose = ScriptedModel(replies: [.text(six)])
        _ = try await TaskPlanner(knownTools: []).plan("Tell me about owls") { try await prose.generate($0).collect() }
        #expect(prose.requests.count == 1)

        // Inputs from a repeat are taken from the first; a subtask that differs stays.
        let g = TaskGraph(
            goal: "g",
            nodes: [
                TaskNode(id: "a", role: .coder, goal: "x"), TaskNode(id: "b", role: .coder, goal: "x"),
                TaskNode(id: "c", role: .coder, goal: "x", module: "other.py"),
                TaskNode(id: "d", role: .writer, goal: "y", inputs: ["a", "b", "c"]),
            ]
        ).withoutDuplicates()
        #expect(g.nodes.map(\.id) == ["a", "c", "d"])
        #expect(g.nodes.last?.inputs == ["a", "c"])
    }

    /// The 0.5B's plan for reverse_words: four subtasks whose goals were the planner's own
    /// descriptions of their roles. Told so once and answering the same, only the coder runs
    /// (it works against the whole goal) with any subtask that has a goal of its own.
    @Test func subtasksThatOnlyNameTheirRolesAreAskedAboutThenLeftOut() async throws {
        let roles = [
            ("coder", "Write one Python file that must pass tests"), ("tester", "Writes tests"), ("researcher", "Looks facts up"),
            ("writer", "writes prose."), ("tester", "Write tests for reverse_words"),
        ]
        let nodes = roles.enumerated().map { i, r in #"{"id":"\#(i + 1)","role":"\#(r.0)","goal":"\#(r.1)","inputs":[],"tools":[]}"# }
        let plan = #"{"nodes":["# + nodes.joined(separator: ",") + "]}"
        let model = ScriptedModel(replies: [.text(plan), .text(plan)])
        let graph = try await TaskPlanner(knownTools: []).plan("Write reverse_words(s)") { try await model.generate($0).collect() }
        #expect(lastUser(of: model.requests[1]).contains("subtasks 1, 2, 3, 4 only name their roles"))
        #expect(graph.nodes.map(\.id) == ["1", "5"])  // a tester with a goal of its own stays
    }

    @Test func thePlanSchemaOffersOnlyToolsTheKernelHas() {
        let schema = TaskPlanner(knownTools: ["web_fetch", "shell"]).schema.json.jsonText
        #expect(schema.contains("web_fetch"))
        #expect(!schema.contains("shell"), "no specialist may hold shell")
    }
}
