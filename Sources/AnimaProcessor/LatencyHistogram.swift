import Foundation

/// A histogram of latencies (the gaps between a generation's tokens, the waits for first
/// tokens), counted since the engine started. Two readings subtract to a window's.
///
/// Buckets grow by a quarter-octave (2^(1/4), about 19%) from 16 µs, so a quantile is
/// known within that factor; the last bucket holds everything from about 72 s up.
public struct LatencyHistogram: Sendable, Hashable, Codable {
    static let bucketCount = 96
    static let firstBound: Double = 16_000  // nanoseconds

    public private(set) var counts: [UInt32] = Array(repeating: 0, count: LatencyHistogram.bucketCount)

    public init() {}

    public var count: Int { counts.reduce(0) { $0 + Int($1) } }

    public mutating func record(nanoseconds: UInt64) {
        counts[Self.bucket(nanoseconds)] &+= 1
    }

    static func bucket(_ nanoseconds: UInt64) -> Int {
        let n = Double(nanoseconds)
        guard n > firstBound else { return 0 }
        return min(bucketCount - 1, Int((4 * log2(n / firstBound)).rounded(.up)))
    }

    /// The upper bound of bucket `index`, in nanoseconds.
    static func upperBound(_ index: Int) -> Double { firstBound * exp2(Double(index) / 4) }

    /// The steps recorded since `earlier` (a reading of the same histogram).
    public func since(_ earlier: LatencyHistogram) -> LatencyHistogram {
        var d = LatencyHistogram()
        for i in counts.indices { d.counts[i] = counts[i] &- earlier.counts[i] }
        return d
    }

    /// The duration that fraction `q` (0...1) of the steps took at most, in milliseconds
    /// (a bucket's upper bound); nil when no step was recorded.
    public func quantile(_ q: Double) -> Double? {
        let total = count
        guard total > 0 else { return nil }
        let rank = max(1, Int((q * Double(total)).rounded(.up)))
        var seen = 0
        for (i, c) in counts.enumerated() {
            seen += Int(c)
            if seen >= rank { return Self.upperBound(i) / 1e6 }
        }
        return Self.upperBound(Self.bucketCount - 1) / 1e6
    }
}
