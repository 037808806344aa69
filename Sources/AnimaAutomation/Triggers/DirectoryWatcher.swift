import Foundation
import Glibc

/// Files written or moved into one directory, from inotify (not recursive).
///
/// A blocking read on a thread of its own delivers the names; closing the watcher ends it.
public final class DirectoryWatcher: @unchecked Sendable {
    public let directory: String
    private let fd: Int32
    private let stop = StopFlag()
    private var started = false

    final class StopFlag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var isSet: Bool { lock.withLock { value } }
        func set() { lock.withLock { value = true } }
    }

    /// - Parameter removals: also deliver files deleted or moved out (their paths no longer exist).
    /// - Throws: `WorkflowError.invalid` naming the directory if it cannot be watched.
    public init(directory: String, removals: Bool = false) throws(WorkflowError) {
        self.directory = directory
        fd = inotify_init1(Int32(IN_CLOEXEC))
        guard fd >= 0 else {
            throw .invalid(step: nil, field: "triggers.directory", reason: "inotify: \(String(cString: strerror(errno)))")
        }
        let mask = UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | (removals ? UInt32(IN_DELETE) | UInt32(IN_MOVED_FROM) : 0)
        guard inotify_add_watch(fd, directory, mask) >= 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw .invalid(step: nil, field: "triggers.directory", reason: "cannot watch \(directory): \(reason)")
        }
    }

    /// Full paths of files as they are written or moved in, until `close()`.
    public func events() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let fd = self.fd
        let directory = self.directory
        let stop = self.stop
        started = true
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            // The reading thread owns the descriptor: it polls so it sees `close()` within
            // half a second, and closes the descriptor itself, so no other thread reuses it meanwhile.
            defer { Glibc.close(fd) }
            while !stop.isSet {
                var waiting = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&waiting, 1, 500)
                if ready < 0, errno != EINTR { break }
                if ready <= 0 { continue }
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 {
                    if n < 0, errno == EINTR { continue }
                    break
                }
                var offset = 0
                while offset + MemoryLayout<inotify_event>.size <= n {
                    let (length, name) = buffer.withUnsafeBytes { raw -> (Int, String) in
                        let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                        let start = offset + MemoryLayout<inotify_event>.size
                        let bytes = raw[start..<min(n, start + Int(event.len))].prefix { $0 != 0 }
                        return (Int(event.len), String(decoding: bytes, as: UTF8.self))
                    }
                    if !name.isEmpty, !name.hasPrefix(".") { continuation.yield(directory + "/" + name) }
                    offset += MemoryLayout<inotify_event>.size + length
                }
            }
            continuation.finish()
        }
        thread.name = "anima-inotify"
        thread.start()
        return stream
    }

    /// Stops watching; the event stream ends.
    public func close() {
        if !started, !stop.isSet { Glibc.close(fd) }
        stop.set()
    }

    deinit { close() }
}
