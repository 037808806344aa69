/// Records every syscall in several trails at once: typically the in-memory ring that the
/// API pages through and the hash-chained log on disk. It fails (and the kernel stops)
/// when any of them fails.
public struct TeeAuditTrail: AuditTrail {
    public let trails: [any AuditTrail]

    public init(_ trails: [any AuditTrail]) {
        self.trails = trails
    }

    public func append(_ record: AuditRecord) {
        for trail in trails { trail.append(record) }
    }

    public var failure: String? { trails.lazy.compactMap(\.failure).first }
}
