import Foundation

/// Per-token rate and concurrency limits: a token bucket refilled at `perMinute`, and a
/// count of requests in flight.
actor RequestLimiter {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
        var inFlight = 0
    }

    let perMinute: Int
    let concurrent: Int
    private var buckets: [String: Bucket] = [:]
    private let clock = ContinuousClock()

    init(perMinute: Int, concurrent: Int) {
        self.perMinute = perMinute
        self.concurrent = concurrent
    }

    enum Verdict: Equatable {
        case admitted
        case tooFast(retryAfterSeconds: Int)
        case tooMany
    }

    /// Takes one request slot for `key`; call `release` when it is done.
    func admit(_ key: String) -> Verdict {
        let now = clock.now
        // Keys chosen by callers (webhook paths) must not grow the table without end: a
        // bucket idle for a minute is full again and holds nothing worth keeping.
        if buckets.count > 4096 {
            buckets = buckets.filter { $0.value.inFlight > 0 || $0.value.updated.duration(to: now) < .seconds(60) }
        }
        var bucket = buckets[key] ?? Bucket(tokens: Double(perMinute), updated: now)
        let elapsed = bucket.updated.duration(to: now)
        let refill = (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) * Double(perMinute) / 60
        bucket.tokens = min(Double(perMinute), bucket.tokens + refill)
        bucket.updated = now
        guard bucket.inFlight < concurrent else {
            buckets[key] = bucket
            return .tooMany
        }
        guard bucket.tokens >= 1 else {
            buckets[key] = bucket
            return .tooFast(retryAfterSeconds: Int(((1 - bucket.tokens) * 60 / Double(perMinute)).rounded(.up)))
        }
        bucket.tokens -= 1
        bucket.inFlight += 1
        buckets[key] = bucket
        return .admitted
    }

    func release(_ key: String) {
        buckets[key]?.inFlight -= 1
    }
}
