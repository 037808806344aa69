import AnimaCore
import AnimaMemory
import AnimaProcessor
import AnimaSecurity
import Foundation

/// What the kernel writes to its audit trail: each syscall's outcome and the security
/// decisions that are not a syscall's own end.
extension Kernel {
    func recordEvent(_ process: ProcessRecord, _ note: SecurityNote) {
        recordEvent(process, note.action, note.summary, note.outcome)
    }

    /// Records a security decision that is not a syscall's own end.
    func recordEvent(_ process: ProcessRecord, _ action: String, _ summary: String, _ outcome: AuditRecord.Outcome) {
        audit.note(pid: process.pid, owner: process.owner.name, action, summary, outcome)
    }

    func recordAudit(pid: PID, owner: String, _ call: Syscall, _ outcome: AuditRecord.Outcome) {
        audit.record(pid: pid, owner: owner, call, outcome)
    }
}

extension Kernel {
    /// Records what a front end decided about access that is no syscall: a passkey
    /// registered or refused (a cloned one), a console session started or revoked.
    /// - Parameter refused: why access was refused; nil when it was granted.
    public func noteAccess(_ action: String, user: String, _ summary: String, refused: String? = nil) {
        audit.note(pid: .kernel, owner: user, action, summary, refused.map { .denied($0) } ?? .completed)
    }
}

extension Kernel {
    /// Records a decision of the kernel's tuner (`KernelTuner`): what it changed or tried,
    /// what it measured, and whether it kept the change.
    public func noteTuning(_ decision: TuningDecision) {
        audit.note(pid: .kernel, owner: "kernel", "tune", decision.summary, decision.kept ? .completed : .failed("reverted"))
    }
}
