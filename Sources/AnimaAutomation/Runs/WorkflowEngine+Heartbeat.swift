import Foundation

/// The lease heartbeat: one renewal of all the runs an engine executes every third of the
/// lease, however many they are (a daemon running 64 runs writes once per beat, not 64 times).
extension WorkflowEngine {
    /// Leases shorter than 0.2 s would renew faster than a store round trip; longer than an
    /// hour would leave a dead daemon's runs stranded for most of a day's work.
    public static let leaseRange: ClosedRange<Double> = 0.2...3600

    /// `seconds` held within `leaseRange`; NaN gives the default, 10.
    static func boundedLease(_ seconds: Double) -> Double {
        seconds.isNaN ? 10 : min(max(seconds, leaseRange.lowerBound), leaseRange.upperBound)
    }

    /// The lease runs are taken for.
    public nonisolated var lease: Double { leaseSeconds }

    func startHeartbeat() {
        guard heartbeat == nil else { return }
        heartbeat = Task { await self.beat() }
    }

    /// Renews every running run's lease until none runs; stops the body of each run that
    /// another engine has taken meanwhile (its lease had run out).
    func beat() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Int64(leaseSeconds * 1000 / 3)))
            if Task.isCancelled { break }
            let ids = Array(bodies.keys)
            if ids.isEmpty { break }
            // A store that does not answer keeps the runs going: their leases may still hold.
            guard let held = try? await store.renew(ids, worker: worker, leaseSeconds: leaseSeconds) else { continue }
            for id in ids where !held.contains(id) { bodies[id]?.cancel() }
        }
        heartbeat = nil
    }
}
