import Foundation
import Synchronization

/// One syscall as the audit trail keeps it: who, what, and how it ended.
public struct AuditRecord: Sendable, Hashable, Codable {
    public enum Outcome: Sendable, Hashable, Codable {
        case completed
        case denied(String)
        case failed(String)
    }

    public var sequence: UInt64
    public var time: Date
    public var pid: PID
    public var owner: String
    public var syscall: String
    public var summary: String
    public var outcome: Outcome
}

/// Where the kernel records every syscall. The security layer supplies a tamper-evident,
/// persistent trail; `MemoryAuditTrail` keeps records in memory.
public protocol AuditTrail: Sendable {
    func append(_ record: AuditRecord)
}

/// An in-memory audit trail that keeps the latest `capacity` records.
public final class MemoryAuditTrail: AuditTrail {
    private let state: Mutex<[AuditRecord]>
    public let capacity: Int

    public init(capacity: Int = 100_000) {
        self.capacity = capacity
        state = Mutex([])
    }

    public func append(_ record: AuditRecord) {
        state.withLock { records in
            records.append(record)
            if records.count > capacity { records.removeFirst(records.count - capacity) }
        }
    }

    public var records: [AuditRecord] { state.withLock { $0 } }
}
