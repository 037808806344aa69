import AnimaCore
import AnimaSecurity

/// Conversations (`AgentSpec.conversation`): one agent process per conversation, each
/// of its owner's turns a message from the kernel, in the owner's words.
extension Kernel {
    /// Gives process `pid` its owner's next words, `{"turn": text}` from the kernel: a
    /// conversation agent takes them as its next turn. Only the owner (or root) speaks
    /// for the owner; the words enter the process's context as the user's.
    ///
    /// Authorised and audited as a `send` from the kernel, its text sealed.
    public func tell(_ pid: PID, _ text: String, as principal: Principal) throws(SyscallError) {
        let body: JSONValue = ["turn": .string(text)]
        guard let process = table[pid] else { throw .noSuchProcess(pid) }
        let caller = ProcessCredentials(pid: .kernel, owner: principal, groups: principal.groups, ancestors: [])
        var refusal = authorizer.deny(.send(to: pid, body), by: caller, target: credentials(process))
        if refusal == nil, !principal.isRoot, principal.name != process.owner.name {
            refusal = "only the agent's owner (\(process.owner.name)) speaks for them in its conversation"
        }
        if let refusal {
            recordAudit(pid: .kernel, owner: principal.name, .send(to: pid, body), .denied(refusal))
            throw .permissionDenied(syscall: "send", reason: refusal)
        }
        guard process.isAlive else { throw .processExited(pid) }
        messageSequence += 1
        process.mailbox.deliver(Message(from: .kernel, body: body, sequence: messageSequence, privacy: process.privacy))
        recordAudit(pid: .kernel, owner: principal.name, .send(to: pid, body), .completed)
    }

    /// Ends a turn of process `pid`: its answer, marked, goes to observers (and back).
    func endTurn(_ answer: String, for pid: PID) -> String {
        let text = marked(answer, for: pid)
        emit(.turnEnded(pid, text))
        return text
    }

    /// The side-effecting and reading tools among `names`, when a later turn may add to
    /// the process's action set: one the model fixed (or none yet), and a monitor that
    /// tracks provenance; nil otherwise.
    func laterActionCandidates(named names: [String], for pid: PID) -> (acting: [ToolDefinition], reading: [ToolDefinition])? {
        guard security.tracksProvenance, let process = table[pid] else { return nil }
        if let actions = process.provenance.actions, actions.origin != .model { return nil }
        if process.provenance.actions == nil, process.provenance.isTainted { return nil }
        return splitByEffect(names)
    }

    /// Adds what a later turn calls for to the action set of process `pid`, audited.
    func extendActions(_ actions: ActionSet, for pid: PID) throws(SyscallError) {
        guard let process = table[pid] else { throw .processExited(pid) }
        guard process.provenance.extend(with: actions) else {
            recordEvent(process, "actions.extended", "refused: the action set was given explicitly", .denied("policy"))
            throw .failed("the action set cannot be extended: it was given explicitly")
        }
        recordEvent(process, "actions.extended", "a later turn: \(actions)", .completed)
    }
}
