import AnimaCore
import AnimaProcessor
import AnimaTesting
import Synchronization
import Testing

@testable import AnimaKernel

/// A call the step's token limit cut (finish reason `length`; the engine closes a constrained
/// call with its arguments shortened) is never run: the model hears why, and after a second
/// cut it must answer.
@Suite("Calls cut by the token limit")
struct CutCallTests {
    static func agent(_ replies: [ScriptedModel.Reply], maxSteps: Int = 12) async throws -> (AnimaKernel.ExitStatus, AddTool, ScriptedModel) {
        let script = Mutex(replies)
        let model = ScriptedModel { request in
            if case .jsonSchema = request.responseFormat { return .text("answer") }  // an action-set step
            return script.withLock { $0.isEmpty ? .failure("no reply left") : $0.removeFirst() }
        }
        let tool = AddTool()
        let kernel = Kernel(.init(processor: model, tools: [tool]))
        var spec = AgentSpec(task: "What is 2+3?", tools: ["add"], limits: .init(maxSteps: maxSteps))
        spec.toolStrategy = .grammar
        let pid = try await kernel.spawn(spec, owner: alice)
        return (try await kernel.wait(pid), tool, model)
    }

    @Test func aCutCallIsNotRunAndTheModelHearsWhy() async throws {
        let (status, tool, model) = try await Self.agent([
            .cutToolCalls([call("add", ["a": 2, "b": 3], id: "c1")]),
            .toolCalls([call("add", ["a": 2, "b": 3], id: "c2")]),
            .text("Five."),
        ])
        #expect(status == .completed("Five."))
        #expect(tool.runs.withLock { $0 } == 1)  // the whole call only
        let steps = model.requests.filter { $0.responseFormat == .text }
        let second = try #require(steps.dropFirst().first)
        let notice = try #require(second.messages.last)
        #expect(notice.role == .tool)
        #expect(notice.content.contains("not run") && notice.content.contains("add"))
    }

    @Test func anEmptyReplyIsNoAnswerTheNextStepMustAnswerInWords() async throws {
        let (status, tool, model) = try await Self.agent([.text("  \n"), .text("Five.")])
        #expect(status == .completed("Five."))
        #expect(tool.runs.withLock { $0 } == 0)
        #expect(model.requests.last?.toolChoice == ToolChoice.none)
        // Asked for words and still silent: the empty answer is the answer (the caller says so).
        let (silent, _, _) = try await Self.agent([.text(""), .text("")])
        #expect(silent == .completed(""))
        // With no step left, the empty answer stands.
        let (once, _, _) = try await Self.agent([.text("")], maxSteps: 1)
        #expect(once == .completed(""))
    }

    @Test func afterASecondCutTheModelMustAnswer() async throws {
        let cut = ScriptedModel.Reply.cutToolCalls([call("add", ["a": 2, "b": 3])])
        let (status, tool, model) = try await Self.agent([cut, cut, .text("Five.")])
        #expect(status == .completed("Five."))
        #expect(tool.runs.withLock { $0 } == 0)
        let last = try #require(model.requests.last)
        #expect(last.toolChoice == .none)
    }
}
