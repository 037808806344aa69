import AnimaSecurity
import Synchronization

/// The kernel's audit trail on the security layer's hash-chained, file-backed
/// `AuditLog`: every syscall the kernel records becomes one chained line on disk.
///
/// If a record cannot be written, `failure` says why from then on and the kernel refuses
/// every further syscall: it fails closed rather than acting unrecorded.
public final class HashChainAuditTrail: AuditTrail {
    public let log: AuditLog
    private let problem = Mutex<String?>(nil)

    public init(log: AuditLog) {
        self.log = log
    }

    /// The trail in `directory/audit.log`, continuing its chain.
    public convenience init(dataDirectory directory: String) throws(SecurityError) {
        self.init(log: try AuditLog(path: directory + "/" + AuditLog.fileName))
    }

    public func append(_ record: AuditRecord) {
        let (outcome, detail): (AuditEntry.Outcome, String) = switch record.outcome {
        case .completed: (.completed, "")
        case .denied(let reason): (.denied, reason)
        case .failed(let reason): (.failed, reason)
        }
        do {
            try log.append(
                pid: record.pid.rawValue, owner: record.owner, action: record.syscall, summary: record.summary,
                outcome: outcome, detail: detail)
        } catch {
            problem.withLock { $0 = $0 ?? error.description }
        }
    }

    public var failure: String? { problem.withLock { $0 } }
}
