import AnimaCore
import Crypto
import Foundation
import Testing

@testable import AnimaSecurity

/// The per-call hot paths (audit line escaping, value folding, digests) have byte-level
/// fast paths; each must give exactly what the plain definition gives, for any input.
@Suite("Security fast paths agree with their definitions")
struct FastPathTests {
    /// Text drawn from characters that need escaping or folding, and ones that look close.
    static func randomText(_ rng: inout some RandomNumberGenerator, asciiOnly: Bool) -> String {
        let tricky: [String] =
            asciiOnly
            ? (0..<128).map { String(UnicodeScalar(UInt8($0))) }
            : ["\"", "\\", "\n", "\r", "\r\n", "\t", "\u{0}", "\u{1B}", "\u{7F}", "\u{2028}", "\u{2029}", "\u{2026}", "€", "\u{2027}",
                "\u{202A}", "é", "ß", "İ", "👍🏽", "a", "Z", " ", "\u{85}", "\u{A0}", "\u{3000}", "x"]
        return (0..<Int.random(in: 0...24, using: &rng)).map { _ in tricky.randomElement(using: &rng)! }.joined()
    }

    /// The escaping as specified: one scalar at a time.
    static func referenceQuoted(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    @Test func auditEscapingMatchesTheScalarDefinitionAndParsesBack() throws {
        var rng = SystemRandomNumberGenerator()
        for i in 0..<4000 {
            let text = Self.randomText(&rng, asciiOnly: i % 2 == 0)
            var quotedBytes: [UInt8] = []
            AuditLine.appendQuoted(text, to: &quotedBytes)
            let quoted = String(decoding: quotedBytes, as: UTF8.self)
            #expect(quoted == Self.referenceQuoted(text), "\(Array(text.unicodeScalars))")
            #expect(try JSONValue(parsing: quoted).stringValue == text)
            let (entry, bytes) = AuditLine.sealed(
                sequence: 7, timeMicros: 1, pid: 2, owner: text, action: "a", summary: text, outcome: .denied, detail: text,
                previousHash: AuditLine.genesisHash)
            #expect(bytes.last == UInt8(ascii: "\n"))
            #expect(String(decoding: bytes.dropLast(), as: UTF8.self) == entry.line)
            let parsed = try AuditLine(line: entry.line)
            #expect(parsed == entry && parsed.computedHash == parsed.hash)
        }
    }

    /// The body as records were first written (string interpolation): stored logs' hashes cover this text.
    static func referenceBody(_ e: AuditLine) -> String {
        "{\"seq\":\(e.sequence),\"time_us\":\(e.timeMicros),\"pid\":\(e.pid),\"owner\":" + referenceQuoted(e.owner) + ",\"action\":"
            + referenceQuoted(e.action) + ",\"summary\":" + referenceQuoted(e.summary) + ",\"outcome\":\"\(e.outcome.rawValue)\",\"detail\":"
            + referenceQuoted(e.detail) + ",\"prev\":\"\(e.previousHash)\""
    }

    @Test func auditBodyBytesMatchTheFirstDefinitionAtEveryNumberExtreme() {
        var rng = SystemRandomNumberGenerator()
        let sequences: [UInt64] = [0, 1, 9, 10, 99, 100, 1_000_000, UInt64(Int64.max), .max] + (0..<200).map { _ in .random(in: 0 ... .max, using: &rng) }
        let times: [Int64] = [0, 1, -1, 9, -9, 10, -10, .max, .min, .min + 1] + (0..<200).map { _ in .random(in: .min ... .max, using: &rng) }
        let pids: [UInt32] = [0, 1, 10, .max] + (0..<200).map { _ in .random(in: 0 ... .max, using: &rng) }
        for (i, sequence) in sequences.enumerated() {
            let entry = AuditLine(
                sequence: sequence, timeMicros: times[i % times.count], pid: pids[i % pids.count], owner: "o\"\n",
                action: "act", summary: Self.randomText(&rng, asciiOnly: false), outcome: .allCases[i % 4], detail: "d",
                previousHash: AuditLine.genesisHash)
            #expect(entry.body == Self.referenceBody(entry))
            #expect(entry.hash == AuditLine.hex(SHA256.hash(data: Array(Self.referenceBody(entry).utf8))))
        }
    }

    @Test func asciiFoldingAndTrimmingMatchTheCharacterDefinitions() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<4000 {
            let text = Self.randomText(&rng, asciiOnly: true)
            #expect(ValueNormalizer.foldASCII(text) == ValueNormalizer.foldUnicode(text), "\(Array(text.utf8))")
            #expect(
                ProvenanceLedger.loweredAndTrimmed(text) == ProvenanceLedger.loweredAndTrimmed(text, asciiPath: false),
                "\(Array(text.utf8))")
            let other = Self.randomText(&rng, asciiOnly: false)
            #expect(ValueNormalizer.fold(other) == ValueNormalizer.foldUnicode(other))
        }
        #expect(ValueNormalizer.foldASCII("caf\u{E9}") == nil)
    }

    @Test func hexAndDigestsMatchTheirDefinitions() {
        var rng = SystemRandomNumberGenerator()
        for n in [0, 1, 8, 31, 32, 100] {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(Hex.encode(bytes) == bytes.map { String(format: "%02x", $0) }.joined())
            #expect(Hex.decode(Hex.encode(bytes)) == bytes)
        }
        let key = SymmetricKey(size: .bits256)
        let digest = AuditDigest(key: key)
        for text in ["", "eve@evil.example", String(repeating: "é👍", count: 500)] {
            let mac = Array(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key))
            #expect(digest.digest(text) == "hmac:\(Hex.encode(mac.prefix(8))) (\(text.utf8.count) bytes)")
        }
    }
}
