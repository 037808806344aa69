import AnimaCore
import Foundation
import Synchronization

/// One syscall (or security decision) as an audit trail keeps it: who, what, and how it
/// ended. The one record type of every trail; `AuditLog` writes it as a chained `AuditLine`.
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

    public init(sequence: UInt64, time: Date, pid: PID, owner: String, syscall: String, summary: String, outcome: Outcome) {
        self.sequence = sequence
        self.time = time
        self.pid = pid
        self.owner = owner
        self.syscall = syscall
        self.summary = summary
        self.outcome = outcome
    }
}

/// Where the kernel records every syscall: `AuditLog` is the tamper-evident, durable
/// trail; `MemoryAuditTrail` keeps records in memory; `TeeAuditTrail` writes to several.
public protocol AuditTrail: Sendable {
    func append(_ record: AuditRecord)
    /// Why records can no longer be kept, if they cannot; the kernel then refuses every
    /// syscall (a side effect that cannot be recorded does not happen).
    var failure: String? { get }
}

extension AuditTrail {
    public var failure: String? { nil }
}

/// An in-memory audit trail that keeps the latest `capacity` records (a ring: appending
/// costs the same when full as when empty).
public final class MemoryAuditTrail: AuditTrail {
    private struct Ring {
        var slots: [AuditRecord] = []
        var start = 0
    }

    private let state = Mutex(Ring())
    public let capacity: Int

    public init(capacity: Int = 100_000) {
        precondition(capacity >= 1)
        self.capacity = capacity
    }

    public func append(_ record: AuditRecord) {
        state.withLock { ring in
            if ring.slots.count < capacity {
                ring.slots.append(record)
            } else {
                ring.slots[ring.start] = record
                ring.start = (ring.start + 1) % capacity
            }
        }
    }

    /// The records kept, oldest first.
    public var records: [AuditRecord] {
        state.withLock { Array($0.slots[$0.start...] + $0.slots[..<$0.start]) }
    }
}
