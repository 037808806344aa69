import AnimaCore
import CSandbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A process tree running under bubblewrap, with pipes to its stdin, stdout and stderr.
///
/// Killing it kills the whole sandbox: bubblewrap leads its own process group, and the
/// sandbox's PID namespace dies with its init, so no background process survives.
/// Reads and waits block, so callers run them through `DedicatedThread.offload`, on a
/// thread named `waitThreadName`.
public final class SandboxedProcess: @unchecked Sendable {
    public let pid: pid_t
    /// The name of the threads that wait for sandboxes and read their output.
    static let waitThreadName = "anima-sandbox-io"
    private(set) var stdinFD: Int32
    let stdoutFD: Int32
    let stderrFD: Int32
    private let lock = NSLock()
    private var exitStatus: Int32?
    private var lineBuffer: [UInt8] = []
    /// The last few kilobytes a long-lived process wrote to stderr, for error messages.
    private(set) var stderrTail: [UInt8] = []
    private var closed = false
    /// The sandbox's control group, nil where control groups are unavailable.
    let cgroup: SandboxCgroup?

    init(pid: pid_t, stdin: Int32, stdout: Int32, stderr: Int32, cgroup: SandboxCgroup? = nil) {
        self.pid = pid
        self.cgroup = cgroup
        stdinFD = stdin
        stdoutFD = stdout
        stderrFD = stderr
        for fd in [stdout, stderr] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }

    deinit { terminate() }

    /// Kills the sandbox and reaps it, and removes its control group; safe to call more than once.
    public func terminate() {
        lock.lock()
        defer { lock.unlock() }
        if exitStatus == nil {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
            exitStatus = Self.reap(pid, blocking: true)
        }
        cgroup?.remove()
        if !closed {
            closed = true
            for fd in [stdinFD, stdoutFD, stderrFD] where fd >= 0 { close(fd) }
        }
    }

    /// Whether the kernel killed a process of the sandbox for going over its memory limit.
    var hitMemoryLimit: Bool { (cgroup?.memoryKills ?? 0) > 0 }

    /// Whether the sandbox has exited (reaping it if it has).
    public var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        if exitStatus == nil { exitStatus = Self.reap(pid, blocking: false) }
        return exitStatus == nil
    }

    /// Closes the process's stdin, so it reads end-of-file.
    func closeInput() {
        lock.lock()
        defer { lock.unlock() }
        if stdinFD >= 0 {
            close(stdinFD)
            stdinFD = -1
        }
    }

    /// Keeps reading stderr on a thread of its own (into `stderrTail`) until the process
    /// ends, for long-lived processes whose stdout someone else reads.
    func drainStderr() {
        DedicatedThread.detach(name: "anima-sandbox-err") { [self] in
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                lock.lock()
                let done = closed
                lock.unlock()
                if done { return }
                var fds = [pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)]
                guard poll(&fds, 1, 200) >= 0 || errno == EINTR else { return }
                guard fds[0].revents != 0 else { continue }
                lock.lock()
                let n = closed ? 0 : read(stderrFD, &chunk, chunk.count)
                if n > 0 {
                    stderrTail.append(contentsOf: chunk[..<n])
                    if stderrTail.count > 4096 { stderrTail.removeFirst(stderrTail.count - 4096) }
                }
                lock.unlock()
                if n == 0 { return }
            }
        }
    }

    /// Writes all of `bytes` to the process's stdin; false when the pipe is closed.
    func write(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(stdinFD, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }

    /// Reads one line from stdout (without the newline), draining stderr alongside so the
    /// process never blocks on it; nil on EOF or when `deadline` passes. Lines longer than
    /// `maxLength` bytes end the read with nil, since the protocol never sends them.
    func readLine(until deadline: ContinuousClock.Instant, maxLength: Int) -> String? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let newline = lineBuffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: lineBuffer[..<newline], as: UTF8.self)
                lineBuffer.removeSubrange(...newline)
                return line
            }
            if lineBuffer.count > maxLength { return nil }
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero { return nil }
            var fds = [pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0), pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, Int32(min(remaining.milliseconds + 1, 1000)))
            if ready < 0, errno != EINTR { return nil }
            if fds[1].revents != 0 {
                let n = read(stderrFD, &chunk, chunk.count)
                if n > 0 {
                    stderrTail.append(contentsOf: chunk[..<n])
                    if stderrTail.count > 4096 { stderrTail.removeFirst(stderrTail.count - 4096) }
                }
            }
            if fds[0].revents != 0 {
                let n = read(stdoutFD, &chunk, chunk.count)
                if n == 0 { return nil }
                if n > 0 { lineBuffer.append(contentsOf: chunk[..<n]) }
            }
        }
    }

    /// Collects stdout and stderr to EOF (keeping `limit` bytes of each) and waits for
    /// the exit, killing the sandbox if `deadline` passes first.
    func collect(limit: Int, until deadline: ContinuousClock.Instant, started: ContinuousClock.Instant) -> SandboxResult {
        var kept: [[UInt8]] = [[], []]
        var total = [0, 0]
        var open: [Int32] = [stdoutFD, stderrFD]
        var timedOut = false
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty {
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero {
                timedOut = true
                break
            }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), Int32(min(remaining.milliseconds + 1, 1000)))
            if ready < 0, errno != EINTR { break }
            for entry in fds where entry.revents != 0 {
                let index = entry.fd == stdoutFD ? 0 : 1
                let n = read(entry.fd, &chunk, chunk.count)
                if n > 0 {
                    total[index] += n
                    let room = max(0, limit - kept[index].count)
                    if room > 0 { kept[index].append(contentsOf: chunk[..<min(n, room)]) }
                } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                    open.removeAll { $0 == entry.fd }
                }
            }
        }
        var status: Int32?
        while status == nil, !timedOut {
            lock.lock()
            status = Self.reap(pid, blocking: false)
            if status != nil { exitStatus = status }
            lock.unlock()
            if status == nil {
                if ContinuousClock.now >= deadline { timedOut = true } else { usleep(200) }
            }
        }
        if timedOut { terminate() }
        var termination: SandboxResult.Termination
        if timedOut {
            termination = .timedOut
        } else {
            termination = Self.termination(status ?? 0)
            if termination != .exited(0), hitMemoryLimit { termination = .memoryLimit }
        }
        return SandboxResult(
            stdout: Self.text(kept[0]), stderr: Self.text(kept[1]), termination: termination,
            stdoutBytes: total[0], stderrBytes: total[1], duration: started.duration(to: .now))
    }

    /// Decodes a wait status of bubblewrap, which exits with 128 + N when its command died of signal N.
    static func termination(_ status: Int32) -> SandboxResult.Termination {
        let signal = status & 0x7f
        if signal != 0 { return signal == SIGXCPU ? .cpuLimit : .signalled(signal) }
        let code = (status >> 8) & 0xff
        if code > 128, code < 128 + 65 {
            return code - 128 == SIGXCPU ? .cpuLimit : .signalled(code - 128)
        }
        return .exited(code)
    }

    /// Text from bytes, dropping a UTF-8 sequence cut by truncation.
    private static func text(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    private static func reap(_ pid: pid_t, blocking: Bool) -> Int32? {
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            if r == pid { return status }
            if r == 0 { return nil }
            if errno == EINTR { continue }
            return 0  // already reaped or not our child
        }
    }
}

extension Duration {
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
