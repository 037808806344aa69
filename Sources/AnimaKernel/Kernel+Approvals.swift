import AnimaCore
import AnimaSecurity

/// Questions to people about tool calls (see `Approvals`): announced on the event stream,
/// and every answer audited with the arguments' names, sources and keyed digests only.
extension Kernel {
    func approvalAsked(_ request: ApprovalRequest) {
        emit(.approvalRequested(request.pid, request))
    }

    func approvalSettled(_ request: ApprovalRequest, _ answer: ConfirmationAnswer, channel: String) {
        let verdict: String
        let outcome: AuditRecord.Outcome
        switch answer {
        case .approved(let who):
            verdict = "approved by \(who)"
            outcome = .completed
        case .declined(let who):
            verdict = "declined by \(who)"
            outcome = .denied("declined")
        case .unanswered(let why):
            verdict = "unanswered (\(channel)): \(why)"
            outcome = .denied("unanswered")
        }
        let arguments = request.arguments.map { "\($0.path) from \($0.sources.joined(separator: ",")) \(audit.digest.digest($0.value))" }
        audit.note(
            pid: request.pid, owner: request.owner, "approval",
            "\(request.tool) \(request.id): \(verdict); " + (arguments.isEmpty ? "no arguments" : arguments.joined(separator: "; ")),
            outcome)
        var approved = false
        if case .approved = answer { approved = true }
        emit(.approvalSettled(request.pid, id: request.id, approved: approved))
    }
}
