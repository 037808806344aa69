import AnimaCore
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The append-only, hash-chained audit log: one JSON line per record in a file.
///
/// Each record carries the hash of the one before (see `AuditLine`), so `verify` finds
/// any record that was edited, removed or moved, and names the first. Only appends are
/// made: the file is opened `O_APPEND` and never rewritten, except that a line torn by a
/// crash mid-write is cut off when the log is next opened, and that cut is itself recorded.
///
/// Durability: every record reaches the kernel with one `write(2)` before `append`
/// returns, so a crash of Anima loses nothing; `fsync` runs per `Durability`. By default
/// a background thread syncs every 100 ms when there is something to sync (and `close`
/// syncs), so a power loss can take at most the last 100 ms of records while no syscall
/// waits for the disk; `.everyRecord` makes every append wait for it instead.
///
/// The chain proves order and integrity, not completeness at the tail: someone who can
/// write the file can cut its last records. `verify(expecting:)` checks against a head
/// (count and hash) kept elsewhere, which `anima audit verify` prints for that purpose.
public final class AuditLog: Sendable {
    /// When appended records are forced to stable storage.
    public enum Durability: Sendable, Hashable {
        /// `fsync` after every record: safest, and costs a disk flush per syscall.
        case everyRecord
        /// `fsync` after this many records, and on `close`.
        case every(Int)
        /// `fsync` from a background thread this often, when records are waiting, and on `close`.
        case periodic(milliseconds: Int)
        /// `fsync` only on `close` (and when `sync()` is called).
        case onClose
    }

    /// The group whose members (and root) may read and verify the log.
    public static let readerGroup = "logs"

    /// The log's file name in a data directory.
    public static let fileName = "audit.log"

    /// Longest stored `summary` and `detail`, in characters; longer ones are clipped.
    public static let fieldLimit = 1000

    private struct State {
        var fd: Int32
        var sequence: UInt64
        var head: String
        var unsynced: Int
        /// Where the file ended after this process's last append. Another process that
        /// appended since (the daemon and `anima run` share a data directory) moved it,
        /// and the chain continues from that process's last record.
        var end: off_t
    }

    public let path: String
    public let durability: Durability
    private let state: Mutex<State>
    /// Why a record could not be written, from the first failure on (see `failure`).
    private let problem = Mutex<String?>(nil)

    /// Opens (or creates, mode 0600) the log at `path` and continues its chain. An older
    /// log's wider mode is narrowed to 0600: it names every user's syscalls.
    public init(path: String, durability: Durability = .periodic(milliseconds: 100)) throws(SecurityError) {
        self.path = path
        self.durability = durability
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io(path: path, reason: "cannot open the audit log: \(String(cString: strerror(errno)))") }
        fchmod(fd, 0o600)
        let tail: (sequence: UInt64, head: String, torn: Int)
        flock(fd, LOCK_EX)
        do { tail = try Self.readTail(fd: fd, path: path) } catch {
            flock(fd, LOCK_UN)
            Self.closeFile(fd)
            throw error
        }
        let end = lseek(fd, 0, SEEK_END)
        flock(fd, LOCK_UN)
        state = Mutex(State(fd: fd, sequence: tail.sequence, head: tail.head, unsynced: 0, end: end))
        if case .periodic(let milliseconds) = durability {
            let interval = UInt32(max(1, milliseconds)) * 1000
            // Its own descriptor, so the flush runs outside the lock and appends never wait for it.
            let syncFD = dup(fd)
            DedicatedThread.detach(name: "anima-audit-sync") { [weak self] in
                defer { Self.closeFile(syncFD) }
                while true {
                    usleep(interval)
                    guard let self, let pending = self.takePending() else { return }
                    if pending { fsync(syncFD) }
                }
            }
        }
        if tail.torn > 0 {
            try append(
                pid: 1, owner: "root", action: "audit.recovered", summary: "cut a torn last line of \(tail.torn) bytes",
                outcome: .recorded, detail: "the previous run ended in the middle of a write")
        }
    }

    deinit {
        state.withLock { s in
            if s.fd >= 0 {
                fsync(s.fd)
                Self.closeFile(s.fd)
                s.fd = -1
            }
        }
    }

    /// The number of records and the hash of the last (the genesis hash when empty).
    public var head: (count: UInt64, hash: String) { state.withLock { ($0.sequence, $0.head) } }

    /// Appends one record and returns it.
    @discardableResult
    public func append(
        pid: UInt32, owner: String, action: String, summary: String, outcome: AuditLine.Outcome, detail: String = ""
    ) throws(SecurityError) -> AuditLine {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let micros = Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
        let result: Result<AuditLine, SecurityError> = state.withLock { s in
            guard s.fd >= 0 else { return .failure(.io(path: path, reason: "the audit log is closed")) }
            // Writers in other processes take the same lock, so records never interleave
            // and each continues the chain from the file's true last record.
            flock(s.fd, LOCK_EX)
            defer { flock(s.fd, LOCK_UN) }
            var end = lseek(s.fd, 0, SEEK_END)
            if end != s.end {
                do throws(SecurityError) {
                    let tail = try Self.readTail(fd: s.fd, path: path)
                    (s.sequence, s.head) = (tail.sequence, tail.head)
                } catch {
                    return .failure(error)
                }
                end = lseek(s.fd, 0, SEEK_END)  // a torn line may have been cut
            }
            let (entry, bytes) = AuditLine.sealed(
                sequence: s.sequence + 1, timeMicros: micros, pid: pid, owner: owner, action: action,
                summary: summary.clipped(Self.fieldLimit), outcome: outcome, detail: detail.clipped(Self.fieldLimit), previousHash: s.head)
            var written = 0
            while written < bytes.count {
                let n = bytes.withUnsafeBytes { write(s.fd, $0.baseAddress! + written, $0.count - written) }
                if n < 0 {
                    if errno == EINTR { continue }
                    return .failure(.io(path: path, reason: "cannot append to the audit log: \(String(cString: strerror(errno)))"))
                }
                written += n
            }
            s.sequence = entry.sequence
            s.head = entry.hash
            s.end = end + off_t(written)  // O_APPEND, under the lock: the file ends where this record does
            s.unsynced += 1
            switch durability {
            case .everyRecord: fsync(s.fd); s.unsynced = 0
            case .every(let n) where s.unsynced >= n: fsync(s.fd); s.unsynced = 0
            default: break
            }
            return .success(entry)
        }
        return try result.get()
    }

    /// Forces appended records to stable storage.
    public func sync() {
        state.withLock { s in
            if s.fd >= 0, s.unsynced > 0 {
                fsync(s.fd)
                s.unsynced = 0
            }
        }
    }

    /// Whether records wait for a sync (and counts them as synced); nil once closed.
    private func takePending() -> Bool? {
        state.withLock { s in
            guard s.fd >= 0 else { return nil }
            defer { s.unsynced = 0 }
            return s.unsynced > 0
        }
    }

    /// Syncs and closes the file; later appends fail.
    public func close() {
        state.withLock { s in
            if s.fd >= 0 {
                fsync(s.fd)
                Self.closeFile(s.fd)
                s.fd = -1
            }
        }
    }

    private static func closeFile(_ fd: Int32) {
        #if canImport(Glibc)
        _ = Glibc.close(fd)
        #else
        _ = Darwin.close(fd)
        #endif
    }

    /// The last complete record's sequence and hash, and how many bytes of a torn line
    /// were cut after it.
    private static func readTail(fd: Int32, path: String) throws(SecurityError) -> (sequence: UInt64, head: String, torn: Int) {
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0 else { return (0, AuditLine.genesisHash, 0) }
        let window = min(Int(size), 1 << 16)
        var buffer = [UInt8](repeating: 0, count: window)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, window, off_t(Int(size) - window)) }
        guard n == window else { throw .io(path: path, reason: "cannot read the audit log's tail") }
        var torn = 0
        if buffer.last != UInt8(ascii: "\n") {
            let lastNewline = buffer.lastIndex(of: UInt8(ascii: "\n"))
            guard lastNewline != nil || Int(size) == window else {
                throw .malformed(path: path, reason: "its last line is longer than \(window) bytes; run `anima audit verify`")
            }
            torn = window - ((lastNewline ?? -1) + 1)
            guard ftruncate(fd, off_t(Int(size) - torn)) == 0 else {
                throw .io(path: path, reason: "cannot cut a torn last line: \(String(cString: strerror(errno)))")
            }
            buffer.removeLast(torn)
            if buffer.isEmpty { return (0, AuditLine.genesisHash, torn) }
        }
        let body = buffer.dropLast()
        let start = body.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? body.startIndex
        guard start > body.startIndex || Int(size) - torn == window else {
            throw .malformed(path: path, reason: "its last line is longer than \(window) bytes; run `anima audit verify`")
        }
        let line = String(decoding: body[start...], as: UTF8.self)
        do {
            let entry = try AuditLine(line: line)
            return (entry.sequence, entry.hash, torn)
        } catch {
            throw .malformed(path: path, reason: "its last record is unreadable (\(error)); run `anima audit verify`")
        }
    }
}

extension AuditLog: AuditTrail {
    /// The log in `directory/audit.log`, continuing its chain.
    public convenience init(dataDirectory directory: String) throws(SecurityError) {
        try self.init(path: directory + "/" + Self.fileName)
    }

    /// Appends `record` as one chained line. The log numbers and times its lines itself
    /// (the chain continues across processes); a record that cannot be written sets
    /// `failure` from then on, and the kernel refuses every further syscall.
    public func append(_ record: AuditRecord) {
        let (outcome, detail): (AuditLine.Outcome, String) =
            switch record.outcome {
            case .completed: (.completed, "")
            case .denied(let reason): (.denied, reason)
            case .failed(let reason): (.failed, reason)
            }
        do {
            try append(
                pid: record.pid.rawValue, owner: record.owner, action: record.syscall, summary: record.summary, outcome: outcome,
                detail: detail)
        } catch {
            problem.withLock { $0 = $0 ?? error.description }
        }
    }

    public var failure: String? { problem.withLock { $0 } }
}
