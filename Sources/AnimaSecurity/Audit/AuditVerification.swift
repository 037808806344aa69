import AnimaCore
import Foundation

/// What checking an audit log found: how many records are intact, the head of the
/// chain, and the first record that is not.
public struct AuditVerification: Sendable, Hashable, CustomStringConvertible {
    /// The first record that breaks the chain.
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        /// 1-based line number in the file.
        public var line: Int
        /// The sequence number the record claims, if it could be read.
        public var sequence: UInt64?
        public var reason: String

        public var description: String {
            "line \(line)" + (sequence.map { " (record \($0))" } ?? "") + ": \(reason)"
        }
    }

    /// Records checked and found intact, from the first.
    public var intact: UInt64
    /// Hash of the last intact record.
    public var headHash: String
    /// Nil when the whole log is intact.
    public var problem: Problem?

    public var isIntact: Bool { problem == nil }

    public var description: String {
        if let problem { return "TAMPERED: \(problem) (\(intact) records before it are intact)" }
        return "intact: \(intact) records, head \(headHash)"
    }
}

extension AuditLog {
    /// Checks the whole chain of the log at `path`, as `reader` (who needs `logs`).
    ///
    /// - Parameters:
    ///   - expecting: a head recorded earlier (`count`, `hash`); the log must still
    ///     contain that record unchanged, which detects records cut from the end.
    public static func verify(
        at path: String, as reader: Principal, expecting: (count: UInt64, hash: String)? = nil
    ) throws(SecurityError) -> AuditVerification {
        try checkReader(reader)
        var result = AuditVerification(intact: 0, headHash: AuditLine.genesisHash, problem: nil)
        var anchorSeen = false
        try forEachLine(at: path) { number, line in
            func fail(_ reason: String, _ sequence: UInt64? = nil) -> Bool {
                result.problem = .init(line: number, sequence: sequence, reason: reason)
                return false
            }
            let entry: AuditLine
            do { entry = try AuditLine(line: line) } catch { return fail("unreadable: \(error)") }
            let expected = result.intact + 1
            if entry.sequence != expected {
                let what = entry.sequence > expected ? "records are missing or out of order" : "a record is repeated or out of order"
                return fail("expected record \(expected), found \(entry.sequence): \(what)", entry.sequence)
            }
            if entry.previousHash != result.headHash {
                return fail("its prev hash does not match record \(result.intact): one of the two was altered or moved", entry.sequence)
            }
            if entry.computedHash != entry.hash {
                return fail("its content does not match its hash: the record was edited", entry.sequence)
            }
            result.intact = entry.sequence
            result.headHash = entry.hash
            if let expecting, entry.sequence == expecting.count {
                anchorSeen = true
                if entry.hash != expecting.hash {
                    return fail("record \(expecting.count) differs from the head recorded earlier", entry.sequence)
                }
            }
            return true
        }
        if result.problem == nil, let expecting, !anchorSeen, expecting.count > 0 {
            result.problem = .init(
                line: Int(result.intact) + 1, sequence: nil,
                reason:
                    "the log ends at record \(result.intact), before the recorded head \(expecting.count): records were cut from the end")
        }
        return result
    }

    /// The records of the log at `path`, oldest first, as `reader` (who needs `logs`).
    /// Lines that are not records are reported as an error; run `verify` for the chain.
    public static func entries(at path: String, as reader: Principal) throws(SecurityError) -> [AuditLine] {
        try checkReader(reader)
        var entries: [AuditLine] = []
        var failure: SecurityError?
        try forEachLine(at: path) { number, line in
            do {
                entries.append(try AuditLine(line: line))
                return true
            } catch {
                failure = .malformed(path: path, reason: "line \(number): \(error)")
                return false
            }
        }
        if let failure { throw failure }
        return entries
    }

    static func checkReader(_ reader: Principal) throws(SecurityError) {
        guard reader.isRoot || reader.groups.contains(readerGroup) else {
            throw .permissionDenied(
                "reading the audit log needs the \(readerGroup) group; \(reader.name) is not in it (ask root: `anima grant \(reader.name) \(readerGroup)`)"
            )
        }
    }

    /// Calls `body` with each line (1-based number, text without newline) until it returns false.
    private static func forEachLine(at path: String, _ body: (Int, String) -> Bool) throws(SecurityError) {
        guard let file = fopen(path, "r") else {
            throw .io(path: path, reason: "cannot open the audit log: \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var buffer: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(buffer) }
        var number = 0
        while true {
            let n = getline(&buffer, &capacity, file)
            if n < 0 { break }
            number += 1
            var length = n
            if length > 0, buffer![length - 1] == 0x0A { length -= 1 }
            let line = String(decoding: UnsafeRawBufferPointer(start: buffer, count: length), as: UTF8.self)
            if !body(number, line) { return }
        }
    }
}
