import AnimaCore
import Crypto
import Foundation

/// One record of the audit log: who did what, how it ended, and the hash that chains it
/// to the record before.
///
/// A record is stored as one line of JSON with its fields in a fixed order. Its hash is
/// SHA-256 over the line's canonical text up to, and not including, the `hash` field —
/// so it covers `prev`, the previous record's hash, and any edit, removal or reordering
/// breaks the chain from that record on.
public struct AuditLine: Sendable, Hashable {
    /// How the recorded action ended.
    public enum Outcome: String, Sendable, Hashable, CaseIterable {
        case completed, denied, failed
        /// A security decision that is not a syscall's end (a guard verdict, a grant).
        case recorded
    }

    /// 1 for the first record; each next record adds one.
    public var sequence: UInt64
    /// Microseconds since 1970, UTC.
    public var timeMicros: Int64
    /// The process that acted; 1 is the kernel or the operator.
    public var pid: UInt32
    /// The principal the process acts for.
    public var owner: String
    /// What was done: a syscall name (`call_tool`), or a security action (`grant`, `guard.input`).
    public var action: String
    /// Its arguments, short.
    public var summary: String
    public var outcome: Outcome
    /// Why it was denied or failed; empty otherwise.
    public var detail: String
    /// Hex SHA-256 of the record before; all zeros for the first.
    public var previousHash: String
    /// Hex SHA-256 of this record's canonical body.
    public var hash: String

    /// The `prev` of the first record.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// A record chained after `previousHash`; its hash is computed here.
    public init(
        sequence: UInt64, timeMicros: Int64, pid: UInt32, owner: String, action: String, summary: String,
        outcome: Outcome, detail: String = "", previousHash: String
    ) {
        self.sequence = sequence
        self.timeMicros = timeMicros
        self.pid = pid
        self.owner = owner
        self.action = action
        self.summary = summary
        self.outcome = outcome
        self.detail = detail
        self.previousHash = previousHash
        self.hash = ""
        self.hash = computedHash
    }

    /// A record chained after `previousHash` and its stored line (with the newline), the
    /// canonical body written once for both the hash and the line.
    static func sealed(
        sequence: UInt64, timeMicros: Int64, pid: UInt32, owner: String, action: String, summary: String,
        outcome: Outcome, detail: String, previousHash: String
    ) -> (AuditLine, [UInt8]) {
        var entry = AuditLine(
            unhashed: sequence, timeMicros: timeMicros, pid: pid, owner: owner, action: action, summary: summary,
            outcome: outcome, detail: detail, previousHash: previousHash)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256 + owner.utf8.count + action.utf8.count + summary.utf8.count + detail.utf8.count)
        entry.appendBody(to: &bytes)
        entry.hash = hex(SHA256.hash(data: bytes))
        bytes.append(contentsOf: ",\"hash\":\"".utf8)
        bytes.append(contentsOf: entry.hash.utf8)
        bytes.append(contentsOf: "\"}\n".utf8)
        return (entry, bytes)
    }

    private init(
        unhashed sequence: UInt64, timeMicros: Int64, pid: UInt32, owner: String, action: String, summary: String,
        outcome: Outcome, detail: String, previousHash: String
    ) {
        (self.sequence, self.timeMicros, self.pid, self.owner, self.action) = (sequence, timeMicros, pid, owner, action)
        (self.summary, self.outcome, self.detail, self.previousHash, self.hash) = (summary, outcome, detail, previousHash, "")
    }

    public var time: Date { Date(timeIntervalSince1970: Double(timeMicros) / 1_000_000) }

    /// The hash the record's fields call for (differs from `hash` if a field was edited).
    public var computedHash: String {
        Self.hex(SHA256.hash(data: Array(body.utf8)))
    }

    /// The line as stored, without the newline.
    public var line: String { body + ",\"hash\":\"" + hash + "\"}" }

    /// Fields in their fixed order, up to `prev`; the text the hash covers.
    var body: String {
        var bytes: [UInt8] = []
        appendBody(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `body`'s UTF-8 to `out`, built as bytes: a record is sealed on every syscall.
    func appendBody(to out: inout [UInt8]) {
        out.append(contentsOf: "{\"seq\":".utf8)
        Self.appendDecimal(sequence, to: &out)
        out.append(contentsOf: ",\"time_us\":".utf8)
        if timeMicros < 0 { out.append(UInt8(ascii: "-")) }
        Self.appendDecimal(timeMicros.magnitude, to: &out)
        out.append(contentsOf: ",\"pid\":".utf8)
        Self.appendDecimal(UInt64(pid), to: &out)
        out.append(contentsOf: ",\"owner\":".utf8)
        Self.appendQuoted(owner, to: &out)
        out.append(contentsOf: ",\"action\":".utf8)
        Self.appendQuoted(action, to: &out)
        out.append(contentsOf: ",\"summary\":".utf8)
        Self.appendQuoted(summary, to: &out)
        out.append(contentsOf: ",\"outcome\":\"".utf8)
        out.append(contentsOf: outcome.rawValue.utf8)
        out.append(contentsOf: "\",\"detail\":".utf8)
        Self.appendQuoted(detail, to: &out)
        out.append(contentsOf: ",\"prev\":\"".utf8)
        out.append(contentsOf: previousHash.utf8)
        out.append(UInt8(ascii: "\""))
    }

    /// `n` in decimal, as `"\(n)"` writes it.
    private static func appendDecimal(_ n: UInt64, to out: inout [UInt8]) {
        guard n >= 10 else {
            out.append(UInt8(ascii: "0") + UInt8(n))
            return
        }
        appendDecimal(n / 10, to: &out)
        out.append(UInt8(ascii: "0") + UInt8(n % 10))
    }

    /// Parses a stored line. The hash is taken as written, not recomputed, so that
    /// verification can compare the two.
    public init(line: String) throws(AuditLineError) {
        let value: JSONValue
        do { value = try JSONValue(parsing: line) } catch { throw AuditLineError("not JSON (\(error))") }
        guard case .object(let object) = value else { throw AuditLineError("not a JSON object") }
        let expected = ["seq", "time_us", "pid", "owner", "action", "summary", "outcome", "detail", "prev", "hash"]
        guard object.keys == expected else {
            throw AuditLineError("fields are \(object.keys.joined(separator: ",")), expected \(expected.joined(separator: ","))")
        }
        func integer(_ key: String) throws(AuditLineError) -> Double {
            guard let n = object[key]?.numberValue, n >= 0 || key == "time_us", n.rounded() == n else {
                throw AuditLineError("\(key) is not a whole number")
            }
            return n
        }
        func string(_ key: String) throws(AuditLineError) -> String {
            guard let s = object[key]?.stringValue else { throw AuditLineError("\(key) is not a string") }
            return s
        }
        guard let outcome = Outcome(rawValue: try string("outcome")) else { throw AuditLineError("unknown outcome") }
        let seq = try integer("seq"), time = try integer("time_us"), pid = try integer("pid")
        guard seq <= 9.0e15, pid <= Double(UInt32.max), abs(time) <= 9.0e15 else { throw AuditLineError("a number is out of range") }
        sequence = UInt64(seq)
        timeMicros = Int64(time)
        self.pid = UInt32(pid)
        owner = try string("owner")
        action = try string("action")
        summary = try string("summary")
        self.outcome = outcome
        detail = try string("detail")
        previousHash = try string("prev")
        hash = try string("hash")
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String { Hex.encode(digest) }

    /// JSON string escaping with one spelling per string, so the canonical body is unique:
    /// `"`, `\\`, control characters, DEL, U+2028 and U+2029 escaped, everything else as is.
    static func appendQuoted(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        defer { out.append(UInt8(ascii: "\"")) }
        let utf8 = string.utf8
        // Most text needs no escape: copy it whole.
        guard utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F || $0 == 0xE2 }) else {
            out.append(contentsOf: utf8)
            return
        }
        let digits: StaticString = "0123456789abcdef"
        var i = utf8.startIndex
        while i != utf8.endIndex {
            let b = utf8[i]
            switch b {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20, 0x7F:
                out.append(contentsOf: [
                    0x5C, UInt8(ascii: "u"), 0x30, 0x30, digits.utf8Start[Int(b >> 4)], digits.utf8Start[Int(b & 0xF)],
                ])
            case 0xE2:
                // U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
                let n1 = utf8.index(after: i)
                if n1 != utf8.endIndex, utf8[n1] == 0x80, case let n2 = utf8.index(after: n1), n2 != utf8.endIndex,
                    utf8[n2] == 0xA8 || utf8[n2] == 0xA9
                {
                    out.append(contentsOf: "\\u202".utf8)
                    out.append(utf8[n2] == 0xA8 ? UInt8(ascii: "8") : UInt8(ascii: "9"))
                    i = utf8.index(after: n2)
                    continue
                }
                out.append(b)
            default: out.append(b)
            }
            i = utf8.index(after: i)
        }
    }
}

/// A stored audit line that is not a well-formed record.
public struct AuditLineError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
