import AnimaCore
import AnimaProcessor
import Foundation

/// Learned quality: for each task class and model, a Beta belief about how likely the
/// model's answer is to be good, and Thompson sampling to choose between models.
///
/// Every belief starts at Beta(1, 1), "no idea". A reward r in [0, 1] (tests passed, the
/// user accepted the answer) adds r to the successes and 1 - r to the failures. To
/// choose, the sampler draws one plausible quality from each model's belief and ranks by
/// the draws: a model that has done well is usually first, one that is little known gets
/// tried now and then, and the share of exploration shrinks as evidence grows.
public struct ThompsonSampler: Sendable {
    /// What has been learned about one model on one task class.
    public struct Belief: Sendable, Hashable, Codable {
        public var successes: Double
        public var failures: Double

        public init(successes: Double = 0, failures: Double = 0) {
            self.successes = successes
            self.failures = failures
        }

        /// The expected quality: the mean of Beta(1 + successes, 1 + failures).
        public var mean: Double { (1 + successes) / (2 + successes + failures) }
        public var observations: Double { successes + failures }
    }

    private var beliefs: [TaskClass: [String: Belief]]
    private var random: SplitMix64

    /// - Parameters:
    ///   - seed: makes the draws reproducible; nil seeds from the system's generator.
    ///   - beliefs: what an earlier run learned.
    public init(seed: UInt64? = nil, beliefs: [TaskClass: [String: Belief]] = [:]) {
        self.beliefs = beliefs
        var system = SystemRandomNumberGenerator()
        random = SplitMix64(seed: seed ?? system.next())
    }

    /// Everything learned so far.
    public var learned: [TaskClass: [String: Belief]] { beliefs }

    public func belief(of candidate: String, for taskClass: TaskClass) -> Belief {
        beliefs[taskClass]?[candidate] ?? Belief()
    }

    /// `candidates` ordered by one Thompson draw each, best first.
    public mutating func rank(_ candidates: [String], for taskClass: TaskClass) -> [(candidate: String, draw: Double)] {
        candidates
            .map { candidate in
                let belief = belief(of: candidate, for: taskClass)
                return (candidate, sampleBeta(1 + belief.successes, 1 + belief.failures))
            }
            .sorted { $0.1 > $1.1 }
    }

    /// Records an outcome; `reward` is clamped to [0, 1].
    public mutating func update(_ candidate: String, for taskClass: TaskClass, reward: Double) {
        let r = min(1, max(0, reward.isFinite ? reward : 0))
        var belief = belief(of: candidate, for: taskClass)
        belief.successes += r
        belief.failures += 1 - r
        beliefs[taskClass, default: [:]][candidate] = belief
    }

    // MARK: - Sampling

    private mutating func uniform() -> Double {
        // 53 random bits in (0, 1): never exactly 0, so logarithms stay finite.
        (Double(random.next() >> 11) + 0.5) / 9_007_199_254_740_992
    }

    private mutating func normal() -> Double {
        sqrt(-2 * log(uniform())) * cos(2 * Double.pi * uniform())
    }

    /// Gamma(shape, 1) by Marsaglia and Tsang's method (shape >= 1; smaller shapes are
    /// boosted by one and scaled back).
    private mutating func sampleGamma(_ shape: Double) -> Double {
        if shape < 1 { return sampleGamma(shape + 1) * pow(uniform(), 1 / shape) }
        let d = shape - 1.0 / 3
        let c = 1 / sqrt(9 * d)
        while true {
            var x: Double
            var v: Double
            repeat {
                x = normal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = uniform()
            if u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
        }
    }

    private mutating func sampleBeta(_ alpha: Double, _ beta: Double) -> Double {
        let x = sampleGamma(alpha)
        let y = sampleGamma(beta)
        return x / (x + y)
    }
}
