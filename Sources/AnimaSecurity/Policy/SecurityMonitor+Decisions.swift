import AnimaCore

/// A security decision worth keeping that is not a syscall's own end (a guard verdict,
/// a confirmation): the kernel records it in the audit trail as it is.
public struct SecurityNote: Sendable, Hashable {
    public var action: String
    public var summary: String
    public var outcome: AuditRecord.Outcome

    public init(_ action: String, _ summary: String, _ outcome: AuditRecord.Outcome) {
        self.action = action
        self.summary = summary
        self.outcome = outcome
    }
}

/// What the monitor rules about a tool call before it runs.
public struct ToolCallRuling: Sendable {
    /// Notes to record first, in order.
    public var notes: [SecurityNote] = []
    /// True when the user was asked: the process may have ended while they answered.
    public var askedUser = false
    /// The call as it may run (redacted if so ruled).
    public var call: ToolCall
    /// Why the call may not run; nil when it may.
    public var denial: String?
    /// Recorded once the call is allowed after the user said yes.
    public var confirmation: SecurityNote?
}

/// The decisions the kernel asks for. The kernel carries them out and records what they
/// return; an `open` monitor allows everything and tracks nothing.
extension SecurityMonitor {
    /// Records that `text` reached a process with `label`, when the monitor tracks provenance.
    public func observe(_ text: String, label: ProvenanceLabel, in ledger: inout ProvenanceLedger) {
        guard tracksProvenance else { return }
        ledger.record(text, label: label)
    }

    /// Who alone may read `text` (restricted data in a message), or nil for anyone.
    public func readers(of text: String, in ledger: ProvenanceLedger) -> Set<String>? {
        guard tracksProvenance else { return nil }
        return ledger.label(of: text).readers
    }

    /// Why `text` may not go to a process of `reader`, or nil when it may.
    public func disclosureDenial(of text: String, to reader: String, context: ProvenanceLedger) -> String? {
        guard tracksProvenance else { return nil }
        if case .deny(let reason) = engine.evaluateDisclosure(of: text, to: reader, context: context).verdict {
            return "policy: \(reason)"
        }
        return nil
    }

    /// An `archival_insert` call with its passage tagged by the untrusted sources of its text
    /// (see `MemoryProvenance`); any other call as it is.
    public func tagged(_ call: ToolCall, context: ProvenanceLedger) -> ToolCall {
        guard tracksProvenance, call.name == "archival_insert", let content = call.arguments["content"]?.stringValue else { return call }
        var call = call
        call.arguments = MemoryProvenance.tagging(call.arguments, with: context.label(of: content))
        return call
    }

    /// The guard over streamed text, when the output guard is on.
    public func streamGuard() -> StreamGuard? { guards.map { StreamGuard($0) } }

    /// Checks a tool call with effect `effect` against the policy and the output guard
    /// before it runs, asking the user when a rule says "ask". Untrusted text in a
    /// `content` argument (see `roles`) reaches the tool marked, as in an answer.
    public func screen(
        _ call: ToolCall, effect: ToolEffect, pid: PID, owner: String, context: ProvenanceLedger, roles: [String: ArgumentRole] = [:]
    ) async -> ToolCallRuling {
        guard tracksProvenance else { return ToolCallRuling(call: call) }
        let decision = engine.evaluate(tool: call.name, effect: effect, arguments: call.arguments, context: context, roles: roles)
        guard decision.effect != .readOnly else { return ToolCallRuling(call: call) }
        var ruling = ToolCallRuling(call: call)
        if case .object(var object) = call.arguments, context.isTainted {
            var marked = false
            for (name, role) in roles where role == .content {
                guard let value = object[name] else { continue }
                let after = Self.mark(value, context)
                if after != value {
                    object[name] = after
                    marked = true
                }
            }
            if marked {
                ruling.call.arguments = .object(object)
                ruling.notes.append(
                    SecurityNote("policy.marked", "\(call.name): untrusted text in its free-text arguments marked", .completed))
            }
        }
        var questions: [String] = []
        switch decision.verdict {
        case .allow: break
        case .deny(let reason): return ToolCallRuling(call: call, denial: "policy: \(reason)")
        case .ask(let reason): questions.append(reason)
        }
        if let guards {
            let verdict = await guards.screen(arguments: ruling.call.arguments, .output)
            if verdict.isWorthRecording {
                ruling.notes.append(
                    SecurityNote("guard.output", "\(call.name): \(verdict)", verdict.action == .block ? .denied("guard") : .completed))
            }
            let found = verdict.categories.map(\.rawValue).joined(separator: ", ")
            switch verdict.action {
            case .allow: break
            case .redact: ruling.call.arguments = Self.redact(ruling.call.arguments, guards)
            case .ask: questions.append("the output guard found \(found) in the arguments")
            case .block:
                ruling.denial = "the output guard blocks \(found) in the arguments"
                return ruling
            }
        }
        guard !questions.isEmpty else { return ruling }
        let question = questions.joined(separator: "; ")
        guard confirm != nil || ask != nil else {
            ruling.denial = ("\(question); this needs the user's confirmation and no one can confirm here")
            return ruling
        }
        ruling.askedUser = true
        let confirmation = Confirmation(
            pid: pid, owner: owner, call: ruling.call, reason: question, arguments: context.provenance(of: ruling.call.arguments))
        switch await answer(confirmation) {
        case .approved(let who):
            ruling.confirmation = SecurityNote("policy.confirmed", "\(call.name): \(question); approved by \(who)", .completed)
        case .declined(let who): ruling.denial = "\(question); \(who) declined"
        case .unanswered(let why): ruling.denial = "\(question); this needs the user's confirmation and \(why)"
        }
        return ruling
    }

    /// Puts `confirmation` to `ask`, else to `confirm`; unanswered when neither is set.
    func answer(_ confirmation: Confirmation) async -> ConfirmationAnswer {
        if let ask { return await ask(confirmation) }
        guard let confirm else { return .unanswered("no one can confirm here") }
        return await confirm(confirmation) ? .approved(by: "the user") : .declined(by: "the user")
    }

    /// Runs the input guard over untrusted text from `source` about to reach the model;
    /// returns the text the model may see, and the note to record if any.
    public func screenInput(_ text: String, from source: String, pid: PID, owner: String) async -> (text: String, note: SecurityNote?) {
        guard tracksProvenance, let guards else { return (text, nil) }
        let verdict = await guards.screen(text, .input)
        guard verdict.isWorthRecording else { return (text, nil) }
        let note = SecurityNote("guard.input", "\(source): \(verdict)", verdict.action == .block ? .denied("guard") : .completed)
        let withheld = "[withheld by the input guard: \(verdict.categories.map(\.rawValue).joined(separator: ", "))]"
        switch verdict.action {
        case .allow: return (text, note)
        case .redact: return (verdict.text, note)
        case .ask:
            let call = ToolCall(id: "guard", name: source, arguments: .string(String(text.prefix(200))))
            if case .approved = await answer(Confirmation(pid: pid, owner: owner, call: call, reason: "\(verdict)")) {
                return (verdict.text, note)
            }
            return (withheld, note)
        case .block:
            return (withheld, note)
        }
    }

    /// Runs the output guard over a generation's answer; returns the text the user may
    /// see, and the note to record if any.
    public func screenAnswer(_ text: String) async -> (text: String, note: SecurityNote?) {
        guard tracksProvenance, let guards, !text.isEmpty else { return (text, nil) }
        let verdict = await guards.screen(text, .output)
        guard verdict.isWorthRecording else { return (text, nil) }
        let note = SecurityNote("guard.output", "answer: \(verdict)", verdict.action == .block ? .denied("guard") : .completed)
        // An answer is text for the user, not an action: "ask" (meant for tool calls) only records.
        switch verdict.action {
        case .allow, .ask: return (text, note)
        case .redact: return (verdict.text, note)
        case .block: return ("[withheld by the output guard: \(verdict.categories.map(\.rawValue).joined(separator: ", "))]", note)
        }
    }

    /// Each string in `value` with its untrusted spans marked (see `AnswerMarking`).
    static func mark(_ value: JSONValue, _ context: ProvenanceLedger) -> JSONValue {
        switch value {
        case .string(let s): .string(AnswerMarking(s, context: context).text)
        case .array(let items): .array(items.map { mark($0, context) })
        case .object(let object): .object(JSONObject(object.map { ($0.key, mark($0.value, context)) }))
        default: value
        }
    }

    /// Each string in `value` with what the output guard redacts replaced.
    static func redact(_ value: JSONValue, _ guards: GuardPipeline) -> JSONValue {
        switch value {
        case .string(let s): .string(guards.evaluate(s, .output).text)
        case .array(let items): .array(items.map { redact($0, guards) })
        case .object(let object): .object(JSONObject(object.map { ($0.key, redact($0.value, guards)) }))
        default: value
        }
    }
}
