import AnimaCore
import AnimaProcessor
import AnimaTesting
import ArgumentParser
import Foundation

/// What a scripted agent does, step by step: `--script FILE` holds a JSON array whose
/// item N is the reply after N tool results and later user turns (a conversation), a
/// tool call or the final answer:
/// `[{"call": "mail__list_emails", "arguments": {}}, {"answer": "done: {last}"}]`.
/// `{last}` is replaced by the last tool result. Past the end, the last item's answer or
/// "done". For tests of the paths between a model and a tool (confirmation, MCP tools)
/// through the real command line, without a model.
struct ScriptedSteps: Sendable {
    enum Step: Sendable {
        case call(String, JSONValue)
        case answer(String)
    }

    let steps: [Step]
    /// Only agents whose user turns hold this text follow the script (`{"when": TEXT,
    /// "steps": [...]}`); the scripted daemon echoes to the others. Nil: every agent.
    let when: String?

    init(file: String) throws {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw ValidationError("--script \(file) cannot be read: \(error.localizedDescription)")
        }
        let root = try? JSONValue(parsing: text)
        when = root?["when"]?.stringValue
        guard let items = root?.arrayValue ?? root?["steps"]?.arrayValue, root?["when"] == nil || when?.isEmpty == false else {
            throw ValidationError(
                "--script \(file) must be a JSON array of {\"call\", \"arguments\"} or {\"answer\"} objects, "
                    + "or {\"when\": TEXT, \"steps\": [...]} with a non-empty text")
        }
        steps = try items.enumerated().map { i, item in
            if let name = item["call"]?.stringValue { return .call(name, item["arguments"] ?? [:]) }
            if let answer = item["answer"]?.stringValue { return .answer(answer) }
            throw ValidationError("--script \(file): item \(i) has neither \"call\" nor \"answer\"")
        }
    }

    /// Whether the agent asking follows the script (see `when`).
    func applies(to request: GenerationRequest) -> Bool {
        guard let when else { return true }
        return request.messages.contains { $0.role == .user && $0.content.contains(when) }
    }

    /// The reply to `request`.
    func reply(_ request: GenerationRequest) -> ScriptedModel.Reply {
        // Asked for the task's action set (see AgentLoop): the script is the task, so its calls.
        if request.messages.first?.content.hasPrefix("Decide which of these side-effecting tools") == true {
            let tools: [JSONValue] = steps.compactMap { if case .call(let name, _) = $0 { ["tool": .string(name)] } else { nil } }
            return .text(JSONValue.object(JSONObject([("actions", .array(tools))])).jsonText)
        }
        let results = request.messages.filter { $0.role == .tool }
        let last = results.last?.content ?? ""
        let index = results.count + max(0, request.messages.filter { $0.role == .user }.count - 1)
        let step = index < steps.count ? steps[index] : steps.last
        switch step {
        case .call(let name, let arguments)?:
            if index >= steps.count { return .text("done: " + last) }
            return .toolCalls([ToolCall(id: "s\(index)", name: name, arguments: arguments)])
        case .answer(let text)?: return .text(text.replacingOccurrences(of: "{last}", with: last))
        case nil: return .text("done")
        }
    }
}
