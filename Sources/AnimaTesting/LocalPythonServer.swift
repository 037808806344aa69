import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP server written in Python for a test or benchmark: the script is written to
/// a folder and started with `python3`; it must write the port it listens on to `portFile`.
public struct LocalPythonServer: Sendable {
    public let process: Process
    public let port: String

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Writes `script` to `directory/name` and runs it with `arguments`; returns once the
    /// port is in `portFile` (10 s at most).
    public static func start(
        _ script: String, in directory: String, name: String = "server.py", arguments: [String], portFile: String
    ) async throws -> LocalPythonServer {
        let path = (directory as NSString).appendingPathComponent(name)
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [path] + arguments
        try process.run()
        for _ in 0..<200 {
            if let port = try? String(contentsOfFile: portFile, encoding: .utf8), !port.isEmpty {
                return LocalPythonServer(process: process, port: port)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        ChildProcess.kill(process)
        throw Failure(description: "the Python server \(name) did not write its port to \(portFile) within 10 s")
    }

    public func stop() { ChildProcess.kill(process) }
}

/// Child processes of tests and benchmarks.
public enum ChildProcess {
    /// Ends `process` with SIGKILL and waits (10 s at most) until it is gone or a zombie.
    /// SIGKILL because a child started from a Swift concurrency thread inherits that
    /// thread's blocked signals, so SIGTERM never reaches it; not `waitUntilExit`, which
    /// spun forever in a benchmark on a child whose exit Foundation never noticed.
    public static func kill(_ process: Process) {
        let pid = process.processIdentifier
        guard pid > 0 else { return }
        Glibc.kill(pid, SIGKILL)
        for _ in 0..<1000 where process.isRunning {
            let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
            let state = stat?.split(separator: ")").last?.dropFirst().first
            if state == nil || state == "Z" { return }
            usleep(10_000)
        }
    }
}
