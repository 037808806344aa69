import AnimaWeb
import Testing

/// The strict CBOR decoder against hostile input: it throws, never crashes, hangs or
/// allocates what a length field claims.
@Suite struct CBORTests {
    @Test func canonicalItemsRoundTrip() throws {
        let value: CBOR = .map([
            .text("fmt"): .text("none"),
            .integer(-7): .array([.bool(true), .bool(false), .null, .unsigned(UInt64.max), .negative(UInt64.max)]),
            .integer(24): .bytes([UInt8](repeating: 7, count: 300)), .text("ü"): .map([:]),
        ])
        let bytes = CBOREncoder.encode(value)
        #expect(try CBORDecoder.decode(bytes) == value)
        #expect(CBOREncoder.encode(try CBORDecoder.decode(bytes)) == bytes)
        #expect(CBOR.integer(-1) == .negative(0))
        #expect(CBOR.negative(UInt64.max).int == nil)
        #expect(CBOR.unsigned(UInt64(Int64.max)).int == Int64.max)
    }

    @Test(
        arguments: [
            ([0x5F, 0x41, 0x00, 0xFF], "indefinite byte string"),
            ([0x9F, 0xFF], "indefinite array"),
            ([0x18, 0x05], "non-shortest integer"),
            ([0x19, 0x00, 0x10], "non-shortest two-byte integer"),
            ([0x58, 0x01, 0x00], "non-shortest length"),
            ([0x01, 0x02], "trailing bytes"),
            ([0xFB, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0], "float"),
            ([0xF9, 0x3C, 0x00], "half float"),
            ([0xC1, 0x01], "tag"),
            ([0xF7], "undefined"),
            ([0x1C], "reserved head"),
            ([0x62, 0xC3, 0x28], "invalid UTF-8"),
            ([0xA2, 0x01, 0x01, 0x01, 0x02], "duplicate key"),
            ([0x5B, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], "2^63 byte string"),
            ([0x9B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], "2^64-1 items"),
            ([0xBB, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], "huge map"),
            ([], "empty input"),
            ([0x1B, 0x00], "truncated integer"),
        ] as [([UInt8], String)])
    func hostileBytesAreRefused(_ bytes: [UInt8], _ what: String) {
        #expect(throws: CBORError.self, "\(what)") { try CBORDecoder.decode(bytes) }
    }

    @Test func nestingAndItemCountsAreBounded() throws {
        let deep = [UInt8](repeating: 0x81, count: 17) + [0x00]
        #expect(throws: CBORError.tooDeep(CBORDecoder.maxDepth)) { try CBORDecoder.decode(deep) }
        let fine = [UInt8](repeating: 0x81, count: 16) + [0x00]
        _ = try CBORDecoder.decode(fine)
        // 5000 items in one array: over the item budget.
        let many = [0x99, 0x13, 0x88] + [UInt8](repeating: 0x00, count: 5000)
        #expect(throws: CBORError.tooManyItems(CBORDecoder.maxItems)) { try CBORDecoder.decode(many) }
    }

    @Test func randomAndMutatedInputNeverCrashes() {
        var generator = SeededBytes(seed: 0x5EED)
        let valid = CBOREncoder.encode(
            .map([
                .text("fmt"): .text("packed"), .text("attStmt"): .map([.text("alg"): .integer(-7), .text("sig"): .bytes([1, 2, 3])]),
                .text("authData"): .bytes([UInt8](repeating: 9, count: 40)),
            ]))
        var decoded = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<generator.next(upTo: 64)).map { _ in UInt8(generator.next(upTo: 256)) }
            } else {
                bytes = valid
                for _ in 0...generator.next(upTo: 4) { bytes[generator.next(upTo: bytes.count)] = UInt8(generator.next(upTo: 256)) }
                if generator.next(upTo: 4) == 0 { bytes.removeLast(generator.next(upTo: bytes.count)) }
            }
            if let value = try? CBORDecoder.decode(bytes) {
                decoded += 1
                // What decodes survives a round trip through the encoder.
                #expect((try? CBORDecoder.decode(CBOREncoder.encode(value))) == value)
            }
        }
        #expect(decoded > 0)
    }
}

/// A small deterministic generator (SplitMix64), so a failure reproduces.
struct SeededBytes {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(upTo bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(max(bound, 1)))
    }
}
