import AnimaCore
import Foundation

/// One agent's long-lived Python interpreter, running `PythonDriver` in a sandbox.
///
/// Variables, imports and functions survive between calls. A call that runs past its
/// time limit kills the whole sandbox; the next call starts a fresh session and says so.
public actor PythonSession {
    /// What one call printed, returned or raised.
    public struct Reply: Sendable, Hashable {
        public var stdout: String
        public var stderr: String
        /// `repr` of the value of a final expression, if any.
        public var value: String?
        /// The traceback of an uncaught exception.
        public var error: String?
        public var stdoutBytes: Int
        public var stderrBytes: Int
        /// Set when the session had to be started again and earlier state is gone.
        public var restarted: Bool
    }

    let sandbox: Sandbox
    let policy: SandboxPolicy
    private var process: SandboxedProcess?
    private var calls = 0
    private var lostState = false

    /// - Parameters:
    ///   - workspace: the agent's workspace, mounted at /workspace.
    ///   - limits: applied to the session's process tree; `cpuSeconds` counts over the
    ///     session's whole life, `wallTime` is the default per call.
    ///   - supplementaryGroups: the Linux groups the interpreter runs with, for its life.
    public init(sandbox: Sandbox, workspace: Workspace, limits: SandboxLimits, supplementaryGroups: [UInt32] = []) {
        self.sandbox = sandbox
        policy = SandboxPolicy(workspace: workspace, limits: limits, supplementaryGroups: supplementaryGroups)
    }

    deinit { process?.terminate() }

    /// Runs `code` in the session and waits at most `timeout`.
    public func run(_ code: String, timeout: Duration? = nil) async throws(ToolError) -> Reply {
        let timeout = timeout ?? policy.limits.wallTime
        let process = try await running()
        let restarted = lostState
        lostState = false
        let request = Array((JSONValue.object(["code": .string(code)]).jsonText + "\n").utf8)
        let deadline = ContinuousClock.now + timeout
        let limit = policy.limits.outputBytes
        let line = await DedicatedThread.offload(name: SandboxedProcess.waitThreadName, stackSize: 1 << 20) { () -> String? in
            guard process.write(request) else { return nil }
            return process.readLine(until: deadline, maxLength: 8 * limit + 65536)
        }
        guard let line, let reply = try? JSONValue(parsing: line), reply["stdout"] != nil else {
            let timedOut = ContinuousClock.now >= deadline
            let memory = process.hitMemoryLimit
            process.terminate()
            self.process = nil
            lostState = true
            throw ToolError.failed(
                timedOut
                    ? "the Python call ran past its time limit of \(timeout) and was killed with its session; variables are lost and the next call starts a fresh session"
                    : memory
                        ? "the Python session went over its memory limit of \(policy.limits.memoryBytes >> 20) MiB and was killed; variables are lost and the next call starts a fresh session"
                        : "the Python session died (out of memory or CPU time, or the process exited); the next call starts a fresh session"
            )
        }
        calls += 1
        return Reply(
            stdout: reply["stdout"]?.stringValue ?? "", stderr: reply["stderr"]?.stringValue ?? "",
            value: reply["value"]?.stringValue, error: reply["error"]?.stringValue,
            stdoutBytes: WireNumber.clamped(reply["stdout_bytes"]?.numberValue ?? 0, to: 0...Int(1e15)),
            stderrBytes: WireNumber.clamped(reply["stderr_bytes"]?.numberValue ?? 0, to: 0...Int(1e15)),
            restarted: restarted)
    }

    /// Ends the session and its sandbox.
    public func close() {
        process?.terminate()
        process = nil
    }

    private func running() async throws(ToolError) -> SandboxedProcess {
        if let process, process.isRunning { return process }
        if process != nil { lostState = true }
        let limit = policy.limits.outputBytes
        let started = try sandbox.launch(["/usr/bin/python3", "-I", "-u", "-c", PythonDriver.source, "\(limit)"], policy: policy)
        let ready = await DedicatedThread.offload(name: SandboxedProcess.waitThreadName, stackSize: 1 << 20) {
            started.readLine(until: .now + .seconds(20), maxLength: 4096)
        }
        guard let ready, ready.contains("ready") else {
            let stderr = String(decoding: started.stderrTail, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            started.terminate()
            throw ToolError.sandboxUnavailable("the Python session did not start\(stderr.isEmpty ? "" : ": " + stderr)")
        }
        process = started
        return started
    }
}
