import Foundation

/// A secret orthogonal transform of vector space, one per namespace, for servers that
/// must see vectors to index them (pgvector). Inner products are unchanged, so the
/// server's nearest-neighbour search works as before, but the stored vectors are not the
/// model's embeddings, which could otherwise be inverted back into text.
///
/// This is obfuscation, not semantic security: someone who knows enough pairs of
/// embeddings and stored vectors can solve for the rotation. Text, blocks and tags are
/// sealed with AES-GCM as everywhere else.
struct VectorRotation: Sendable {
    let dimensions: Int
    /// Unit normals of the reflections; the transform is their product.
    private let normals: [[Float]]
    private let signs: [Float]

    /// Sixteen Householder reflections after random sign flips: cheap to build and apply
    /// (even in debug builds), exactly orthogonal, and mixing every coordinate.
    init(dimensions: Int, seed: [UInt8], reflections: Int = 16) {
        self.dimensions = dimensions
        var generator = SeededGenerator(seed: seed)
        signs = (0..<dimensions).map { _ in generator.next() & 1 == 0 ? 1 : -1 }
        normals = (0..<reflections).map { _ in
            let v = (0..<dimensions).map { _ in generator.gaussian() }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { Float($0 / norm) }
        }
    }

    func apply(_ vector: [Float]) -> [Float] {
        var out = zip(vector, signs).map { $0 * $1 }
        for n in normals {
            // x - 2 (n . x) n
            var dot: Float = 0
            for i in 0..<dimensions { dot += n[i] * out[i] }
            let scale = 2 * dot
            for i in 0..<dimensions { out[i] -= scale * n[i] }
        }
        return out
    }

    /// xoshiro256** seeded from the namespace's derived key.
    private struct SeededGenerator {
        var state: (UInt64, UInt64, UInt64, UInt64)

        init(seed: [UInt8]) {
            func word(_ i: Int) -> UInt64 {
                (0..<8).reduce(0) { $0 | UInt64(seed[(i * 8 + $1) % seed.count]) << (8 * UInt64($1)) }
            }
            state = (word(0), word(1), word(2), word(3) | 1)
        }

        mutating func next() -> UInt64 {
            let result = ((state.1 &* 5) << 7 | (state.1 &* 5) >> 57) &* 9
            let t = state.1 << 17
            state.2 ^= state.0
            state.3 ^= state.1
            state.1 ^= state.2
            state.0 ^= state.3
            state.2 ^= t
            state.3 = state.3 << 45 | state.3 >> 19
            return result
        }

        mutating func uniform() -> Double { (Double(next() >> 11) + 0.5) / Double(1 << 53) }

        mutating func gaussian() -> Double {
            (-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform())
        }
    }
}
