/// Lower-case hexadecimal text for bytes (digests, random ids), without Foundation's
/// `String(format:)`, which costs microseconds per byte on hot paths such as
/// authenticating every request.
public enum Hex {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A random 128-bit identifier as 32 hex digits (a response or tool-call id).
    public static func randomID() -> String {
        var generator = SystemRandomNumberGenerator()
        let words = (generator.next() as UInt64, generator.next() as UInt64)
        return withUnsafeBytes(of: words) { encode($0) }
    }
}
