import AnimaCore
import AnimaSecurity
import Foundation

/// How the kernel writes its audit trail: numbered records of each syscall's outcome and
/// of the security decisions that are not a syscall's own end, content sealed by `digest`.
struct KernelAudit {
    let trail: any AuditTrail
    let digest: AuditDigest
    private var sequence: UInt64 = 0

    init(trail: any AuditTrail, digest: AuditDigest) {
        self.trail = trail
        self.digest = digest
    }

    /// Why records can no longer be kept, if they cannot: then nothing may run.
    var failure: String? { trail.failure }

    /// Records syscall `call` of `pid` (acting for `owner`) and how it ended.
    mutating func record(pid: PID, owner: String, _ call: Syscall, _ outcome: AuditRecord.Outcome) {
        sequence += 1
        trail.append(
            AuditRecord(
                sequence: sequence, time: Date(), pid: pid, owner: owner, syscall: call.name, summary: call.summary(sealing: digest.digest),
                outcome: outcome))
    }

    /// Records a security decision (`action`) that is not a syscall's own end.
    mutating func note(pid: PID, owner: String, _ action: String, _ summary: String, _ outcome: AuditRecord.Outcome) {
        sequence += 1
        trail.append(
            AuditRecord(
                sequence: sequence, time: Date(), pid: pid, owner: owner, syscall: action,
                summary: summary.clipped(300), outcome: outcome))
    }
}
