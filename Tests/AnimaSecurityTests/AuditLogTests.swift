import AnimaCore
import Foundation
import Testing

@testable import AnimaSecurity

@Suite("Audit log")
struct AuditLogTests {
    /// A log of `count` records in a fresh directory.
    func makeLog(_ count: Int) throws -> (path: String, log: AuditLog) {
        let path = temporaryDirectory() + "/audit.log"
        let log = try AuditLog(path: path)
        for i in 1...count {
            try log.append(
                pid: UInt32(i + 1), owner: "alice", action: "call_tool", summary: "send_email {\"to\":\"x\(i)@example.com\"}",
                outcome: i % 3 == 0 ? .denied : .completed, detail: i % 3 == 0 ? "untrusted \"to\"\nline" : "")
        }
        return (path, log)
    }

    func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(
            String.init)
    }

    func write(_ lines: [String], to path: String) throws {
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
    }

    @Test func anUntouchedLogVerifiesAndReadsBack() throws {
        let (path, log) = try makeLog(10)
        log.close()
        let result = try AuditLog.verify(at: path, as: auditor)
        #expect(result.isIntact)
        #expect(result.intact == 10)
        #expect(result.headHash == log.head.hash)
        let entries = try AuditLog.entries(at: path, as: auditor)
        #expect(entries.map(\.sequence) == Array(1...10))
        #expect(entries[2].detail == "untrusted \"to\"\nline")
        #expect(entries[2].outcome == .denied)
    }

    @Test func reopeningContinuesTheChain() throws {
        let (path, log) = try makeLog(3)
        log.close()
        let again = try AuditLog(path: path)
        try again.append(pid: 1, owner: "root", action: "grant", summary: "bob net", outcome: .recorded)
        again.close()
        let result = try AuditLog.verify(at: path, as: auditor)
        #expect(result.isIntact && result.intact == 4)
    }

    @Test func twoWritersOnOneFileKeepOneChain() throws {
        let (path, first) = try makeLog(2)
        let second = try AuditLog(path: path)  // another process's handle: its own descriptor and state
        for i in 0..<20 {
            let log = i % 3 == 0 ? second : first
            try log.append(pid: UInt32(i), owner: "alice", action: "generate", summary: "step \(i)", outcome: .completed)
        }
        first.close()
        second.close()
        let result = try AuditLog.verify(at: path, as: auditor)
        #expect(result.isIntact, "\(String(describing: result.problem))")
        #expect(result.intact == 22)
    }

    @Test func anEditedRecordIsNamed() throws {
        let (path, log) = try makeLog(8)
        log.close()
        var all = try lines(path)
        all[4] = all[4].replacingOccurrences(of: "x5@example.com", with: "evil@attacker.net")
        try write(all, to: path)
        let result = try AuditLog.verify(at: path, as: auditor)
        #expect(result.problem?.line == 5)
        #expect(result.problem?.reason.contains("edited") == true)
        #expect(result.intact == 4)
    }

    @Test func anEditWithARecomputedHashIsCaughtAtTheNextRecord() throws {
        let (path, log) = try makeLog(6)
        log.close()
        var all = try lines(path)
        var forged = try AuditLine(line: all[2])
        forged.outcome = .completed
        forged.detail = ""
        forged.hash = forged.computedHash
        all[2] = forged.line
        try write(all, to: path)
        let result = try AuditLog.verify(at: path, as: auditor)
        #expect(result.problem?.line == 4)
        #expect(result.problem?.reason.contains("prev hash") == true)
    }

    @Test func aRemovedRecordIsNamed() throws {
        let (path, log) = try makeLog(6)
        log.close()
        var all = try lines(path)
        all.remove(at: 2)
        try write(all, to: path)
        let result = try AuditLog.verify(at: path, as: auditor)
        #expect(result.problem?.line == 3)
        #expect(result.problem?.reason.contains("expected record 3, found 4") == true)
    }

    @Test func reorderedRecordsAreNamed() throws {
        let (path, log) = try makeLog(6)
        log.close()
        var all = try lines(path)
        all.swapAt(1, 2)
        try write(all, to: path)
        let result = try AuditLog.verify(at: path, as: auditor)
        #expect(result.problem?.line == 2)
        #expect(result.problem?.sequence == 3)
    }

    @Test func renumberedRecordsStillBreakTheChain() throws {
        // Remove record 3 and renumber the rest so sequence numbers look continuous.
        let (path, log) = try makeLog(6)
        log.close()
        var entries = try lines(path).map { try AuditLine(line: $0) }
        entries.remove(at: 2)
        for i in 2..<entries.count {
            entries[i].sequence = UInt64(i + 1)
            entries[i].hash = entries[i].computedHash
        }
        try write(entries.map(\.line), to: path)
        let result = try AuditLog.verify(at: path, as: auditor)
        #expect(result.problem?.line == 3)
        #expect(result.problem?.reason.contains("prev hash") == true)
    }

    @Test func cuttingTheTailIsCaughtAgainstARecordedHead() throws {
        let (path, log) = try makeLog(6)
        let head = log.head
        log.close()
        try write(Array(try lines(path).prefix(4)), to: path)
        #expect(try AuditLog.verify(at: path, as: auditor).isIntact)  // the chain alone cannot tell
        let anchored = try AuditLog.verify(at: path, as: auditor, expecting: head)
        #expect(anchored.problem?.reason.contains("cut from the end") == true)
        #expect(try AuditLog.verify(at: path, as: auditor, expecting: (4, anchored.headHash)).isIntact)
    }

    @Test func garbageInTheMiddleIsNamed() throws {
        let (path, log) = try makeLog(5)
        log.close()
        var all = try lines(path)
        all.insert("{\"seq\":3}", at: 2)
        try write(all, to: path)
        let result = try AuditLog.verify(at: path, as: auditor)
        #expect(result.problem?.line == 3)
        #expect(result.problem?.reason.contains("unreadable") == true)
    }

    @Test func aTornLastLineIsCutAndTheCutRecorded() throws {
        let (path, log) = try makeLog(4)
        log.close()
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"seq\":5,\"time_us\":1".utf8))
        try handle.close()
        let reopened = try AuditLog(path: path)
        reopened.close()
        let entries = try AuditLog.entries(at: path, as: auditor)
        #expect(entries.count == 5)
        #expect(entries.last?.action == "audit.recovered")
        #expect(try AuditLog.verify(at: path, as: auditor).isIntact)
    }

    @Test func readingNeedsTheLogsGroup() throws {
        let (path, log) = try makeLog(2)
        log.close()
        #expect(throws: SecurityError.self) { try AuditLog.entries(at: path, as: outsider) }
        #expect(throws: SecurityError.self) { try AuditLog.verify(at: path, as: outsider) }
        #expect(try AuditLog.entries(at: path, as: .root).count == 2)
    }

    @Test func concurrentAppendsKeepOneChain() async throws {
        let path = temporaryDirectory() + "/audit.log"
        let log = try AuditLog(path: path, durability: .onClose)
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<8 {
                group.addTask {
                    for i in 0..<200 {
                        _ = try? log.append(pid: UInt32(t), owner: "u\(t)", action: "generate", summary: "\(i)", outcome: .completed)
                    }
                }
            }
        }
        log.close()
        let result = try AuditLog.verify(at: path, as: auditor)
        #expect(result.isIntact && result.intact == 1600)
    }
}

@Suite("Audit digest")
struct AuditDigestTests {
    /// The key is made once (0600) and reused, so a digest can be matched later; a text's
    /// digest names no word of it.
    @Test func theKeyIsKeptAndDigestsRevealNoText() throws {
        let directory = NSTemporaryDirectory() + "anima-audit-key-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try AuditDigest(dataDirectory: directory)
        let again = try AuditDigest(dataDirectory: directory)
        let text = "the spare key is under the blue flowerpot"
        #expect(first.digest(text) == again.digest(text))
        #expect(first.digest(text) != first.digest(text + "."))
        #expect(!first.digest(text).contains("flowerpot") && first.digest(text).hasSuffix("(\(text.utf8.count) bytes)"))
        #expect(AuditDigest.ephemeral().digest(text) != first.digest(text))
        let mode = try FileManager.default.attributesOfItem(atPath: directory + "/audit.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // A key of 32 raw bytes is used as it is; anything else is refused with advice.
        try Data(repeating: 7, count: 32).write(to: URL(fileURLWithPath: directory + "/audit.key"))
        _ = try AuditDigest(dataDirectory: directory)
        try Data("short".utf8).write(to: URL(fileURLWithPath: directory + "/audit.key"))
        #expect(throws: SecurityError.self) { try AuditDigest(dataDirectory: directory) }
    }
}
