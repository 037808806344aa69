import AnimaCore

/// How a sandboxed command ended and what it printed.
public struct SandboxResult: Sendable, Hashable {
    /// Why the command stopped.
    public enum Termination: Sendable, Hashable, CustomStringConvertible {
        case exited(Int32)
        /// Killed by a signal (bubblewrap reports it as 128 + the signal).
        case signalled(Int32)
        /// Ran past its CPU-seconds limit.
        case cpuLimit
        /// Ran past its wall-clock limit; the whole sandbox was killed.
        case timedOut
        /// The sandbox as a whole went over its memory limit and the kernel killed a process in it.
        case memoryLimit

        public var description: String {
            switch self {
            case .exited(let code): "exited with status \(code)"
            case .signalled(let signal): "killed by signal \(signal)"
            case .cpuLimit: "killed: CPU time limit exceeded"
            case .timedOut: "killed: wall-clock time limit exceeded"
            case .memoryLimit: "killed: the sandbox's memory limit was exceeded"
            }
        }
    }

    public var stdout: String
    public var stderr: String
    public var termination: Termination
    /// Bytes the command wrote to stdout and stderr, including what was dropped.
    public var stdoutBytes: Int
    public var stderrBytes: Int
    public var duration: Duration

    public var succeeded: Bool { termination == .exited(0) }
    public var truncated: Bool { stdoutBytes > stdout.utf8.count || stderrBytes > stderr.utf8.count }
}

extension SandboxResult {
    /// What the agent reads: the output, what was cut, and how the command ended.
    public var report: String {
        var parts: [String] = []
        if !stdout.isEmpty { parts.append(stdout) }
        if !stderr.isEmpty { parts.append("[stderr]\n" + stderr) }
        if stdoutBytes > stdout.utf8.count {
            parts.append("[output truncated: the command wrote \(stdoutBytes) bytes to stdout; the first \(stdout.utf8.count) are shown]")
        }
        if stderrBytes > stderr.utf8.count {
            parts.append("[stderr truncated: \(stderrBytes) bytes written; the first \(stderr.utf8.count) are shown]")
        }
        if termination != .exited(0) { parts.append("[\(termination)]") }
        return parts.isEmpty ? "(no output)" : parts.joined(separator: "\n")
    }

    /// The typed result.
    public var json: JSONValue {
        var object: JSONObject = [
            "stdout": .string(stdout), "stderr": .string(stderr), "termination": .string(termination.description),
            "truncated": .bool(truncated),
        ]
        if case .exited(let code) = termination { object["exit_code"] = .number(Double(code)) }
        return .object(object)
    }
}
