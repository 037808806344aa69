import AnimaCore
import AnimaMemory
import AnimaSecurity

/// Action and answer integrity: the task's action set, fixed before any untrusted text
/// enters a process's context, and the marking of untrusted text in its answer.
extension Kernel {
    /// The side-effecting tools among `names` (those a task's action set chooses from)
    /// and the reading ones (the sources a user can point to), by the effect the policy
    /// gives them; nil when no action set applies: the monitor tracks no provenance, or
    /// the process's set is already fixed or can no longer be (its context is tainted).
    func actionCandidates(named names: [String], for pid: PID) -> (acting: [ToolDefinition], reading: [ToolDefinition])? {
        guard security.tracksProvenance, let process = table[pid], process.provenance.actions == nil, !process.provenance.isTainted
        else { return nil }
        return splitByEffect(names)
    }

    /// The side-effecting and the reading tools among `names`, by the effect the policy gives them.
    func splitByEffect(_ names: [String]) -> (acting: [ToolDefinition], reading: [ToolDefinition]) {
        var acting: [ToolDefinition] = []
        var reading: [ToolDefinition] = []
        for name in names.sorted() {
            guard let tool = tools[name] else { continue }
            let effect = security.engine.policy.rule(for: name)?.effect ?? tool.effect
            if effect == .readOnly { reading.append(tool.definition) } else { acting.append(tool.definition) }
        }
        return (acting, reading)
    }

    /// Fixes the action set of process `pid`; the memory functions stay governed by the
    /// provenance rules alone (they change the agent's own memory, which every task may).
    func fixActions(_ actions: ActionSet, for pid: PID) throws(SyscallError) {
        guard let process = table[pid] else { throw .processExited(pid) }
        var actions = actions
        actions.actions += MemoryFunctions.names.sorted().map { ActionSet.Action(tool: $0) }
        guard process.provenance.fix(actions) else {
            let why = process.provenance.actions == nil ? "untrusted text has already entered its context" : "it is already fixed"
            recordEvent(process, "actions.fixed", "refused: \(why)", .denied("policy"))
            throw .failed("the action set cannot be fixed: \(why)")
        }
        recordEvent(process, "actions.fixed", "\(actions.origin.rawValue): \(actions)", .completed)
    }

    /// `answer` with each span that came from untrusted text marked, and the injection
    /// detector's finding on it recorded (see `AnswerMarking`).
    func marked(_ answer: String, for pid: PID) -> String {
        guard security.tracksProvenance, let process = table[pid] else { return answer }
        let marking = AnswerMarking(answer, context: process.provenance)
        for span in marking.spans where span.injection {
            recordEvent(process, "guard.answer", "untrusted text from \(span.label) in the answer holds injected instructions", .completed)
        }
        return marking.text
    }
}
