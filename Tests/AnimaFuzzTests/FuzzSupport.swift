import AnimaCore
import Foundation
import PropertyBased

/// Fixed seeds and time budgets for the fuzz and property suite.
///
/// Every target draws from PropertyBased's generators with a `Xoshiro` seeded from
/// `Fuzz.seed` and the target's number, so a run is repeatable; it stops after `inputs`
/// or when its time budget is spent, whichever comes first, and reports how many inputs
/// it tried (BENCHMARKS.md, "Fuzz and property tests").
enum Fuzz {
    /// The suite's seed. Change it to explore; a failure names the target and input number.
    static let seed: UInt64 = 0x414E_494D_4114

    static func generator(_ target: UInt64) -> Xoshiro {
        Xoshiro(seed: (seed, target &* 0x9E37_79B9_7F4A_7C15, ~seed, target))
    }

    /// Runs `body` on inputs 0, 1, 2, ... until `inputs` or `budget`; returns how many ran.
    static func run(_ name: String, inputs: Int, budget: Duration, _ body: (_ index: Int, _ rng: inout Xoshiro) async throws -> Void)
        async rethrows -> Int
    {
        var rng = generator(UInt64(truncatingIfNeeded: name.utf8.reduce(5381) { ($0 &* 33) &+ Int($1) }))
        let clock = ContinuousClock()
        let start = clock.now
        var count = 0
        while count < inputs, clock.now - start < budget {
            try await body(count, &rng)
            count += 1
        }
        print("fuzz \(name): \(count) inputs in \(clock.now - start) (seed \(String(seed, radix: 16)))")
        return count
    }

    // MARK: Generators

    static let smallInt = Gen.int(in: 0...9)
    static let byte = Gen<UInt8>.value(in: 0...255)
    static let word = Gen.letterOrNumber.string(of: 0...8)
    /// Text from anywhere below the surrogates (controls, quotes, backslashes, CJK) and a few emoji.
    static let scalar = Gen.unicodeScalar(in: "\u{0}"..."\u{D7FF}")
    static func text(_ rng: inout Xoshiro) -> String {
        var out = String.UnicodeScalarView()
        for _ in 0..<Gen.int(in: 0...6).run(using: &rng) {
            out.append(
                Gen.bool.run(using: &rng) ? scalar.run(using: &rng) : Gen<Unicode.Scalar?>.element(of: specialScalars).run(using: &rng)!)
        }
        return String(out)
    }
    static let specialScalars: [Unicode.Scalar] = [
        "\"", "\\", "\n", "\u{0}", "\u{1F}", "\u{7F}", "\u{200B}", "\u{FEFF}", "\u{1F600}", "\u{10FFFF}", "{", "[",
    ]

    /// Numbers a hostile client sends, and ordinary ones.
    static let hostileNumbers: [Double] = [
        0, -0.0, 1, -1, 0.5, 2, 255, 256, 1e9, 1e15, 1e300, -1e300, 9_223_372_036_854_775_808, 18_446_744_073_709_551_617,
        -9_223_372_036_854_775_809, 1.7976931348623157e308, -1.7976931348623157e308, 5e-324, 4_294_967_296,
    ]

    static func number(_ rng: inout Xoshiro) -> Double {
        if Gen.bool.run(using: &rng) { return Gen<Double?>.element(of: hostileNumbers).run(using: &rng)! }
        return Gen.double(in: -1e6...1e6).run(using: &rng)
    }

    /// A random JSON value, at most `depth` levels deep, with keys drawn from `keys` when given.
    static func json(_ rng: inout Xoshiro, depth: Int = 4, keys: [String] = []) -> JSONValue {
        let kind = Gen.int(in: 0...(depth > 0 ? 6 : 4)).run(using: &rng)
        switch kind {
        case 0: return .null
        case 1: return .bool(Gen.bool.run(using: &rng))
        case 2: return .number(number(&rng))
        case 3: return .string(text(&rng))
        case 4: return .string(word.run(using: &rng))
        case 5:
            let count = Gen.int(in: 0...4).run(using: &rng)
            return .array((0..<count).map { _ in json(&rng, depth: depth - 1, keys: keys) })
        default:
            var object = JSONObject()
            for _ in 0..<Gen.int(in: 0...5).run(using: &rng) {
                let key =
                    keys.isEmpty || Gen.int(in: 0...4).run(using: &rng) == 0
                    ? word.run(using: &rng) : Gen<String?>.element(of: keys).run(using: &rng)!
                object[key] = json(&rng, depth: depth - 1, keys: keys)
            }
            return .object(object)
        }
    }

    /// `bytes` with a few random edits: flips, insertions, deletions and repeated slices.
    static func mutate(_ bytes: [UInt8], _ rng: inout Xoshiro) -> [UInt8] {
        var out = bytes
        for _ in 0...Gen.int(in: 0...3).run(using: &rng) {
            let at = out.isEmpty ? 0 : Gen.int(in: 0...(out.count - 1)).run(using: &rng)
            switch Gen.int(in: 0...4).run(using: &rng) {
            case 0 where !out.isEmpty: out[at] = byte.run(using: &rng)
            case 1: out.insert(Gen<UInt8?>.element(of: Array(#"{}[]",:"\-+.eE0123456789tfn"#.utf8)).run(using: &rng)!, at: at)
            case 2 where !out.isEmpty: out.remove(at: at)
            case 3 where !out.isEmpty:
                let end = Swift.min(out.count, at + Gen.int(in: 1...16).run(using: &rng))
                out.insert(contentsOf: out[at..<end], at: at)
            default: out.insert(byte.run(using: &rng), at: at)
            }
        }
        return out
    }
}
