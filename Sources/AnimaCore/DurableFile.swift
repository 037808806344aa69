import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The one routine that writes a file of state or secrets so that a crash or power loss
/// leaves either the old contents or the new, never a torn or empty file.
///
/// Writes a temporary file (mode 0600 unless told otherwise) in the same directory,
/// `fsync`s it, renames it over the target and `fsync`s the directory. It does not lock:
/// writers that read, change and write back take a `DurableFile.Lock` around the whole
/// cycle.
public enum DurableFile {
    /// Replaces `url`'s contents with `data`, durably.
    /// - Parameters:
    ///   - mode: the file's permissions; 0600 by default, because most of these files hold secrets.
    public static func write(_ data: Data, to url: URL, mode: mode_t = 0o600) throws(DurableFileError) {
        try write(data, to: url, mode: mode, using: .system)
    }

    /// The system calls `write` makes, so a test can record their order and make one fail.
    struct Calls: Sendable {
        var open: @Sendable (String, Int32, mode_t) -> Int32
        var fchmod: @Sendable (Int32, mode_t) -> Int32
        var write: @Sendable (Int32, UnsafeRawPointer, Int) -> Int
        var fsync: @Sendable (Int32) -> Int32
        var close: @Sendable (Int32) -> Int32
        var rename: @Sendable (String, String) -> Int32
        var unlink: @Sendable (String) -> Int32

        static let system = Calls(
            open: { Glibc.open($0, $1, $2) }, fchmod: { Glibc.fchmod($0, $1) }, write: { Glibc.write($0, $1, $2) },
            fsync: { Glibc.fsync($0) }, close: { Glibc.close($0) }, rename: { Glibc.rename($0, $1) }, unlink: { Glibc.unlink($0) })
    }

    static func write(_ data: Data, to url: URL, mode: mode_t, using calls: Calls) throws(DurableFileError) {
        let directory = url.deletingLastPathComponent().path
        let temporary = directory + "/." + url.lastPathComponent + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = calls.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .cannotWrite(url.path, Self.reason()) }
        var ok = calls.fchmod(fd, mode) == 0
        var reason = ok ? "" : Self.reason()
        if ok {
            ok = data.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let n = calls.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        return false
                    }
                    offset += n
                }
                return true
            }
            if !ok { reason = Self.reason() }
        }
        if ok, calls.fsync(fd) != 0 { ok = false; reason = Self.reason() }
        _ = calls.close(fd)
        guard ok else {
            _ = calls.unlink(temporary)
            throw .cannotWrite(url.path, reason)
        }
        guard calls.rename(temporary, url.path) == 0 else {
            let reason = Self.reason()
            _ = calls.unlink(temporary)
            throw .cannotWrite(url.path, reason)
        }
        syncDirectory(of: url, using: calls)
    }

    /// `fsync`s the directory holding `url`, so a file just created or renamed there
    /// survives a power loss (for writers that create with `O_EXCL` themselves).
    public static func syncDirectory(of url: URL) {
        syncDirectory(of: url, using: .system)
    }

    static func syncDirectory(of url: URL, using calls: Calls) {
        let dir = calls.open(url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        if dir >= 0 {
            _ = calls.fsync(dir)
            _ = calls.close(dir)
        }
    }

    /// The file's contents, nil if it does not exist.
    public static func read(_ url: URL) throws(DurableFileError) -> Data? {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw .cannotRead(url.path, Self.reason())
        }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .cannotRead(url.path, Self.reason())
            }
            if n == 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        return data
    }

    /// Runs `body` holding an exclusive advisory lock (`flock`) on `lockFile` (created 0600
    /// if missing), so two processes never interleave a read-modify-write of one state file.
    public static func withLock<T>(_ lockFile: URL, _ body: () throws -> T) throws -> T {
        let fd = open(lockFile.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DurableFileError.cannotLock(lockFile.path, reason()) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            throw DurableFileError.cannotLock(lockFile.path, reason())
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    /// What identifies a file's current version cheaply: inode, size and modification
    /// time. A rename over the file changes the inode, so a reader notices every durable
    /// write, even two within the same clock tick.
    public struct Version: Equatable, Sendable {
        let inode: UInt64
        let size: Int64
        let seconds: Int
        let nanoseconds: Int

        /// The version of `url` now, nil if it does not exist.
        public static func of(_ url: URL) -> Version? {
            var info = stat()
            guard stat(url.path, &info) == 0 else { return nil }
            return Version(
                inode: UInt64(info.st_ino), size: Int64(info.st_size), seconds: info.st_mtim.tv_sec, nanoseconds: info.st_mtim.tv_nsec)
        }
    }

    static func reason() -> String { String(cString: strerror(errno)) }

    /// The system's reason for a failed Foundation file operation ("no such file",
    /// "permission denied"), not Foundation's "NSCocoaErrorDomain error 260".
    public static func reason(of error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
        switch nsError.code {
        case NSFileReadNoSuchFileError, NSFileNoSuchFileError: return "no such file or directory"
        case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return "permission denied"
        case NSFileWriteOutOfSpaceError: return "no space left on the device"
        case NSFileReadCorruptFileError: return "the file's contents cannot be decoded"
        case NSFileWriteFileExistsError: return "a file is in the way"
        default: return nsError.localizedFailureReason ?? nsError.localizedDescription
        }
    }
}

/// Why a durable read, write or lock failed, with the path and the system's reason.
public enum DurableFileError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotWrite(String, String)
    case cannotRead(String, String)
    case cannotLock(String, String)

    public var description: String {
        switch self {
        case .cannotWrite(let path, let reason):
            "cannot write \(path): \(reason); check that the directory exists, is writable and the disk is not full"
        case .cannotRead(let path, let reason): "cannot read \(path): \(reason); check its owner and permissions"
        case .cannotLock(let path, let reason): "cannot lock \(path): \(reason); check that the directory is writable"
        }
    }
}
