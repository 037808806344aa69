import AnimaCore
import Foundation
import Glibc

/// The one-writer lock of a memory directory: an exclusive `flock` on `memory.lock`, held
/// while a process has the store open, with the holder's pid written in it.
///
/// SQLite would let a second process write the database, but the vector-index snapshots
/// beside it are one process's cache: two writers would overwrite each other's snapshots
/// and index records the other never saw. So a second opener is refused, with the pid of
/// the process that holds the store and what to do. The kernel drops the lock when the
/// holder exits, however it exits.
final class StoreLock: @unchecked Sendable {
    private var fd: Int32

    init(directory: URL) throws(StorageError) {
        let path = directory.appendingPathComponent("memory.lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .database("could not open \(path): \(String(cString: strerror(errno)))") }
        fchmod(fd, 0o600)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let holder = Self.holder(fd)
            close(fd)
            throw .locked(directory: directory.path, holder: holder)
        }
        let pid = Data("\(getpid())\n".utf8)
        ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.fd = fd
    }

    /// The pid written by the process holding the lock, if it can be read.
    private static func holder(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Lets the next process open the store.
    func release() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }

    deinit { release() }
}
