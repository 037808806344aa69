import Foundation

/// Counts wrong enrollment codes and refuses further tries for a while once too many
/// came from one address, or from everywhere together (guessing spread over many
/// addresses). A code has 80 random bits, so this is defence in depth: it keeps a
/// guesser's tries, and the audit records they leave, bounded.
public actor EnrollmentLimiter {
    /// What a try may do.
    public enum Verdict: Sendable, Equatable {
        case allowed
        /// Refused; `firstRefusal` is true for the first refusal of this block, which is
        /// the one the console audits (so a flood does not flood the audit log).
        case refused(retryAfter: Int, firstRefusal: Bool)
    }

    public let window: TimeInterval
    public let perAddress: Int
    public let overall: Int
    private var failures: [String: [Date]] = [:]
    private var everyone: [Date] = []
    private var announced: Set<String> = []
    private let now: @Sendable () -> Date
    static let everyoneKey = "*"
    /// Addresses remembered at once; the oldest go first, so a flood of addresses cannot grow memory.
    static let capacity = 4096

    /// - Parameters:
    ///   - window: seconds a wrong code counts against its address.
    ///   - perAddress: wrong codes one address may send per window.
    ///   - overall: wrong codes all addresses together may send per window.
    public init(
        window: TimeInterval = 300, perAddress: Int = 5, overall: Int = 50, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.window = window
        self.perAddress = perAddress
        self.overall = overall
        self.now = now
    }

    /// Whether `address` may try a code now.
    public func check(_ address: String) -> Verdict {
        let now = now()
        prune(now)
        let mine = failures[address] ?? []
        if mine.count >= perAddress, let oldest = mine.first {
            return refuse(address, until: oldest.addingTimeInterval(window), now: now)
        }
        if everyone.count >= overall, let oldest = everyone.first {
            return refuse(Self.everyoneKey, until: oldest.addingTimeInterval(window), now: now)
        }
        return .allowed
    }

    /// Counts a wrong code from `address`.
    public func fail(_ address: String) {
        let now = now()
        if failures[address] == nil && failures.count >= Self.capacity,
            let stalest = failures.min(by: { ($0.value.last ?? .distantPast) < ($1.value.last ?? .distantPast) })?.key
        {
            failures[stalest] = nil
        }
        failures[address, default: []].append(now)
        everyone.append(now)
    }

    private func refuse(_ key: String, until: Date, now: Date) -> Verdict {
        let first = announced.insert(key).inserted
        return .refused(retryAfter: max(1, Int(until.timeIntervalSince(now).rounded(.up))), firstRefusal: first)
    }

    private func prune(_ now: Date) {
        let cutoff = now.addingTimeInterval(-window)
        everyone.removeAll { $0 <= cutoff }
        if everyone.count < overall { announced.remove(Self.everyoneKey) }
        for (key, dates) in failures {
            let kept = dates.filter { $0 > cutoff }
            if kept.isEmpty { failures[key] = nil } else { failures[key] = kept }
            if kept.count < perAddress { announced.remove(key) }
        }
    }
}
