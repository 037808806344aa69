/// A CBOR data item (RFC 8949) of the kinds WebAuthn uses: integers, byte and text
/// strings, arrays, maps, booleans and null.
///
/// Floats, tags and indefinite lengths never occur in attestation objects or COSE keys,
/// so the decoder refuses them rather than half-supporting them.
public indirect enum CBOR: Sendable, Hashable {
    case unsigned(UInt64)
    /// The integer `-1 - n`.
    case negative(UInt64)
    case bytes([UInt8])
    case text(String)
    case array([CBOR])
    case map([CBOR: CBOR])
    case bool(Bool)
    case null

    /// The value as a signed integer, when it is an integer that fits.
    public var int: Int64? {
        switch self {
        case .unsigned(let n): n <= UInt64(Int64.max) ? Int64(n) : nil
        case .negative(let n): n <= UInt64(Int64.max) ? -1 - Int64(n) : nil
        default: nil
        }
    }

    public var byteString: [UInt8]? {
        if case .bytes(let b) = self { return b }
        return nil
    }

    public var string: String? {
        if case .text(let t) = self { return t }
        return nil
    }

    public subscript(key: CBOR) -> CBOR? {
        if case .map(let m) = self { return m[key] }
        return nil
    }

    public subscript(key: String) -> CBOR? { self[.text(key)] }

    /// The CBOR for a signed integer.
    public static func integer(_ n: Int64) -> CBOR { n >= 0 ? .unsigned(UInt64(n)) : .negative(UInt64(-1 - n)) }
}

/// Why bytes are not the CBOR a WebAuthn message may hold.
public enum CBORError: Error, Sendable, Equatable, CustomStringConvertible {
    case truncated(at: Int)
    case trailingBytes(Int)
    case tooDeep(Int)
    case tooManyItems(Int)
    case unsupported(String, at: Int)
    case nonCanonical(String, at: Int)
    case invalidText(at: Int)
    case duplicateKey(at: Int)

    public var description: String {
        switch self {
        case .truncated(let at): "CBOR ends early at byte \(at)"
        case .trailingBytes(let n): "CBOR item is followed by \(n) unexpected byte(s)"
        case .tooDeep(let limit): "CBOR nests deeper than \(limit) levels"
        case .tooManyItems(let limit): "CBOR holds more than \(limit) items"
        case .unsupported(let what, let at): "CBOR \(what) at byte \(at) is not allowed in WebAuthn data"
        case .nonCanonical(let what, let at): "CBOR \(what) at byte \(at) is not in its shortest form"
        case .invalidText(let at): "CBOR text string at byte \(at) is not valid UTF-8"
        case .duplicateKey(let at): "CBOR map at byte \(at) repeats a key"
        }
    }
}

/// A strict decoder: definite lengths, shortest-form heads, no duplicate map keys,
/// bounded depth and item count, and every length checked against the bytes left
/// before anything is allocated.
public struct CBORDecoder {
    public static let maxDepth = 16
    public static let maxItems = 4096

    private let bytes: [UInt8]
    private var offset = 0
    private var items = 0

    /// Decodes exactly one item that fills `bytes`.
    public static func decode(_ bytes: [UInt8]) throws(CBORError) -> CBOR {
        var decoder = CBORDecoder(bytes: bytes)
        let value = try decoder.item(depth: 0)
        guard decoder.offset == bytes.count else { throw .trailingBytes(bytes.count - decoder.offset) }
        return value
    }

    /// Decodes one item at the start of `bytes`; returns it and how many bytes it took.
    public static func decodePrefix(_ bytes: ArraySlice<UInt8>) throws(CBORError) -> (CBOR, Int) {
        var decoder = CBORDecoder(bytes: Array(bytes))
        let value = try decoder.item(depth: 0)
        return (value, decoder.offset)
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private mutating func byte() throws(CBORError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated(at: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// The head's argument, refusing indefinite lengths and longer-than-needed forms.
    private mutating func argument(_ info: UInt8, at start: Int) throws(CBORError) -> UInt64 {
        switch info {
        case 0..<24: return UInt64(info)
        case 24...27:
            let width = 1 << Int(info - 24)
            guard bytes.count - offset >= width else { throw .truncated(at: offset) }
            var value: UInt64 = 0
            for _ in 0..<width { value = value << 8 | UInt64(bytes[offset]); offset += 1 }
            let smallest: UInt64 = info == 24 ? 24 : 1 << (4 << Int(info - 24))
            guard value >= smallest else { throw .nonCanonical("integer or length", at: start) }
            return value
        case 31: throw .unsupported("indefinite length", at: start)
        default: throw .unsupported("reserved head value \(info)", at: start)
        }
    }

    private mutating func length(_ info: UInt8, at start: Int) throws(CBORError) -> Int {
        let n = try argument(info, at: start)
        guard n <= UInt64(bytes.count - offset) else { throw .truncated(at: offset) }
        return Int(n)
    }

    private mutating func item(depth: Int) throws(CBORError) -> CBOR {
        guard depth <= Self.maxDepth else { throw .tooDeep(Self.maxDepth) }
        items += 1
        guard items <= Self.maxItems else { throw .tooManyItems(Self.maxItems) }
        let start = offset
        let head = try byte()
        let major = head >> 5, info = head & 0x1F
        switch major {
        case 0: return .unsigned(try argument(info, at: start))
        case 1: return .negative(try argument(info, at: start))
        case 2:
            let n = try length(info, at: start)
            defer { offset += n }
            return .bytes(Array(bytes[offset..<offset + n]))
        case 3:
            let n = try length(info, at: start)
            defer { offset += n }
            guard let text = String(validating: bytes[offset..<offset + n], as: UTF8.self) else { throw .invalidText(at: start) }
            return .text(text)
        case 4:
            // Each item takes at least one byte: a count beyond the bytes left is a lie.
            let n = try length(info, at: start)
            var array: [CBOR] = []
            array.reserveCapacity(n)
            for _ in 0..<n { array.append(try item(depth: depth + 1)) }
            return .array(array)
        case 5:
            let n = try argument(info, at: start)
            guard n <= UInt64(bytes.count - offset) / 2 else { throw .truncated(at: offset) }
            var map: [CBOR: CBOR] = [:]
            for _ in 0..<n {
                let keyAt = offset
                let key = try item(depth: depth + 1)
                let value = try item(depth: depth + 1)
                guard map.updateValue(value, forKey: key) == nil else { throw .duplicateKey(at: keyAt) }
            }
            return .map(map)
        case 6: throw .unsupported("tag", at: start)
        default:
            switch info {
            case 20: return .bool(false)
            case 21: return .bool(true)
            case 22: return .null
            case 25, 26, 27: throw .unsupported("floating-point number", at: start)
            default: throw .unsupported("simple value \(info)", at: start)
            }
        }
    }
}

/// Encodes the CBOR kinds above in shortest form: for tests' software authenticators and
/// for comparing keys, not for anything the server must parse back leniently.
public enum CBOREncoder {
    public static func encode(_ value: CBOR) -> [UInt8] {
        var out: [UInt8] = []
        write(value, into: &out)
        return out
    }

    private static func head(_ major: UInt8, _ n: UInt64, into out: inout [UInt8]) {
        let m = major << 5
        switch n {
        case 0..<24: out.append(m | UInt8(n))
        case 24...0xFF: out += [m | 24, UInt8(n)]
        case 0x100...0xFFFF: out += [m | 25, UInt8(n >> 8), UInt8(n & 0xFF)]
        case 0x1_0000...0xFFFF_FFFF: out += [m | 26] + (0..<4).reversed().map { UInt8((n >> ($0 * 8)) & 0xFF) }
        default: out += [m | 27] + (0..<8).reversed().map { UInt8((n >> ($0 * 8)) & 0xFF) }
        }
    }

    private static func write(_ value: CBOR, into out: inout [UInt8]) {
        switch value {
        case .unsigned(let n): head(0, n, into: &out)
        case .negative(let n): head(1, n, into: &out)
        case .bytes(let b):
            head(2, UInt64(b.count), into: &out)
            out += b
        case .text(let t):
            head(3, UInt64(t.utf8.count), into: &out)
            out += Array(t.utf8)
        case .array(let a):
            head(4, UInt64(a.count), into: &out)
            for v in a { write(v, into: &out) }
        case .map(let m):
            head(5, UInt64(m.count), into: &out)
            // Canonical order: shorter encoded keys first, then bytewise.
            let entries = m.map { (encode($0.key), $0.value) }.sorted { a, b in
                a.0.count != b.0.count ? a.0.count < b.0.count : a.0.lexicographicallyPrecedes(b.0)
            }
            for (key, v) in entries {
                out += key
                write(v, into: &out)
            }
        case .bool(let b): out.append(b ? 0xF5 : 0xF4)
        case .null: out.append(0xF6)
        }
    }
}
