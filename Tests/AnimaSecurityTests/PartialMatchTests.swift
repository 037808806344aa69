import Foundation
import Testing

@testable import AnimaSecurity

/// The stream guard asks, at each position, whether a match may be under way; positions are
/// settled without asking ICU where the unit there cannot start one (`PartialPattern`). That
/// shortcut must never change an answer: a wrong "settled" would release the start of a
/// secret before the rest of it is seen.
@Suite struct PartialMatchTests {
    static var guardPatterns: [(String, PartialPattern)] {
        let scanners = [PatternScanner.secrets, .dangerousCode, .injectionPhrases]
        return scanners.flatMap { s in s.partials.map { (s.name, $0) } }
            + PIIScanner.partials.map { ("pii", $0) } + ExfiltrationLinkScanner.partials.map { ("exfiltration", $0) }
    }

    /// Patterns whose first atom depends on what stands before it, or reads ahead.
    static let tricky = [
        #"\Bx"#, #"\b-x"#, #"(?m)^#+ "#, #"\Afoo"#, #"(?=abc)a"#, #"(?i)straße"#, #"x*"#, #"(?<![a-z])ab"#, #"(?<=@)x"#, #"\bfoo\b"#,
        #"$"#, #"(?m)$\n"#, #"[^a]b"#,
    ].map { ($0, PartialPattern(try! NSRegularExpression(pattern: $0))) }

    static let pieces = [
        "AKIA", "ASIA", "0123456789ABCDEF", "sk-", "ant-", "proj-", "ghp_", "xoxb-", "AIza", "-----BEGIN ", "RSA ", "PRIVATE KEY-----", "eyJ",
        ".", "@", "bob", "example.com", " ", "\n", "![", "](", "[r]: ", "http", "s://", "<img src=", "?q=", "=", "é", "ß", "SS", "😀", "_",
        "4111 1111 1111 1111", "+1 ", "(555) ", "123-4567", "api_key", "password", ": ", "\"", "x", "a", "B", "-", "#", "abc", "foo",
        "rm -rf /", "ignore previous", "instructions", "Straße", "\u{301}", "\t",
    ]

    @Test("the shortcut settles a position only where trying it would have")
    func settlingWithoutTryingNeverChangesTheAnswer() {
        var random = SystemRandomNumberGenerator()
        var seed = UInt64.random(in: 0...UInt64.max, using: &random)
        let patterns = Self.guardPatterns + Self.tricky
        for round in 0..<400 {
            // SplitMix64, seeded per run and printed on failure.
            func next() -> UInt64 {
                seed &+= 0x9E37_79B9_7F4A_7C15
                var z = seed
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return z ^ (z >> 31)
            }
            let text = (0..<(1 + Int(next() % 10))).map { _ in Self.pieces[Int(next() % UInt64(Self.pieces.count))] }.joined()
            for (name, pattern) in patterns {
                let fast = PartialMatch.earliest([pattern], in: text)
                let full = PartialMatch.earliest([pattern], in: text, filtered: false)
                #expect(fast == full, "round \(round), \(name) /\(pattern.regex.pattern)/ on \(text.debugDescription)")
            }
        }
    }

    @Test("a secret's first letters are held however the stream is cut")
    func aKeyStartIsHeldAfterEveryKindOfNeighbour() {
        let pattern = PatternScanner.secrets.partials[0]  // AWS access key
        for before in ["", " ", "\n", "(", "é", "x", "_", "😀"] {
            let text = before + "AKIA01"
            let start = PartialMatch.earliest([pattern], in: text)
            #expect(start.map { String(text[$0...]) } == (before.last?.isLetter == true || before == "_" ? nil : "AKIA01"), "\(before.debugDescription)")
        }
    }
}
