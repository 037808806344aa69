import AnimaCore
import Foundation
import Testing

@testable import AnimaTools

/// Every way out of the sandbox that a tool might try: each must fail, and the failure
/// must reach the agent. Serialized: the fork bomb uses up the sandbox user's processes.
@Suite("Sandbox escapes", .serialized)
struct SandboxEscapeTests {
    let fixture: ToolFixture

    init() throws { fixture = try ToolFixture() }

    func shell(_ command: String, limits: SandboxLimits = .standard, context: ToolContext? = nil) async throws -> ToolResult {
        let context = try context ?? fixture.context()
        return await ShellTool(limits: limits).call(["command": .string(command)], in: context)
    }

    func exitCode(_ result: ToolResult) -> Double? { result.value["exit_code"]?.numberValue }

    @Test func readingEtcShadowFails() async throws {
        #expect(FileManager.default.fileExists(atPath: "/etc/shadow"))
        let result = try await shell("cat /etc/shadow")
        #expect(result.isError)
        #expect(result.text.contains("No such file"))
        #expect(!result.text.contains("root:"))
    }

    @Test func theHomeDirectoryAndSSHKeysAreInvisible() async throws {
        let home = NSHomeDirectory()
        let secret = home + "/.ssh/anima-escape-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: home + "/.ssh", withIntermediateDirectories: true)
        try "secret-key".write(toFile: secret, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: secret) }
        let result = try await shell("cat \(secret); ls \(home)/.ssh; ls \(home)")
        #expect(result.isError)
        #expect(!result.text.contains("secret-key"))
        #expect(result.text.contains("No such file"))
    }

    @Test func anotherAgentsWorkspaceIsInvisible() async throws {
        let other = try fixture.workspace("agent-b")
        try "b's secret".write(toFile: other.root + "/secret.txt", atomically: true, encoding: .utf8)
        let result = try await shell("cat ../agent-b/secret.txt; cat \(other.root)/secret.txt; ls /workspace/.. \(fixture.base)")
        #expect(result.isError)
        #expect(!result.text.contains("b's secret"))
        #expect(result.value["stderr"]?.stringValue?.contains("\(fixture.base)': No such file or directory") == true)
        #expect(result.value["stdout"]?.stringValue?.contains("agent-b") == false)
        #expect(result.value["stdout"]?.stringValue?.contains("workspace") == true)
    }

    @Test func theAnimaDataDirectoryIsInvisible() async throws {
        let data = NSHomeDirectory() + "/.local/share/anima"
        let marker = data + "/escape-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try "anima data".write(toFile: marker, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: marker) }
        let result = try await shell("cat \(marker); ls \(data)")
        #expect(result.isError)
        #expect(!result.text.contains("anima data"))
        #expect(result.text.contains("No such file"))
    }

    @Test func writingOutsideTheWorkspaceFails() async throws {
        let name = "escape-\(UUID().uuidString)"
        let result = try await shell(
            "echo x > /usr/\(name); echo x > /etc/\(name); echo x > /\(name); echo x > /tmp/\(name); echo x > /workspace/inside.txt")
        #expect(result.text.contains("/usr/\(name): Read-only file system"))
        #expect(result.text.contains("/etc/\(name): Permission denied"))
        #expect(result.text.contains("/\(name): Permission denied"))
        for path in ["/usr/\(name)", "/etc/\(name)", "/\(name)", "/tmp/\(name)"] {
            #expect(!FileManager.default.fileExists(atPath: path), "\(path) was written on the host")
        }
        // The workspace itself is writable, so the failures above are the sandbox's doing.
        #expect(FileManager.default.fileExists(atPath: try fixture.workspace("agent-a").root + "/inside.txt"))
    }

    @Test func aTCPConnectionWithoutTheNetworkGrantFails() async throws {
        let listener = try TCPListener()
        let connect = "python3 -c \"import socket; socket.create_connection(('127.0.0.1', \(listener.port)), 3); print('connected')\""
        let denied = try await shell(connect)
        #expect(denied.isError)
        #expect(!denied.text.contains("connected"))
        #expect(denied.text.contains("Network is unreachable") || denied.text.contains("Connection refused"))
        // With the network shared, the same command connects: the test can fail.
        let granted = try await fixture.context().sandbox.run(
            ["/bin/sh", "-c", connect], policy: SandboxPolicy(workspace: try fixture.workspace("agent-a").root, network: true))
        #expect(granted.succeeded, "\(granted.report)")
        #expect(granted.stdout.contains("connected"))
    }

    @Test func aForkBombHitsTheProcessLimitAndLeavesNothingBehind() async throws {
        let marker = "anima-forkbomb-\(UUID().uuidString)"
        let code = """
            import os, time  # \(marker)
            n = 0
            try:
                while True:
                    if os.fork() == 0:
                        time.sleep(60); os._exit(0)
                    n += 1
            except OSError as error:
                print("fork failed after", n, error)
            """
        let started = ContinuousClock.now
        let result = try await shell("python3 -c '\(code)'", limits: SandboxLimits(processes: 48, wallTime: .seconds(20)))
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(result.text.contains("fork failed after"), "\(result.text)")
        #expect(result.text.contains("Resource temporarily unavailable"))
        let forked = Int(result.text.split(separator: " ").dropFirst(3).first ?? "") ?? .max
        #expect(forked < 48)
        try await Task.sleep(for: .milliseconds(300))
        #expect(processes(containing: marker).isEmpty, "children of the fork bomb survived the sandbox")
    }

    @Test func aBusyLoopIsKilledAtTheCPULimit() async throws {
        let started = ContinuousClock.now
        let result = try await shell("python3 -c 'while True: pass'", limits: SandboxLimits(cpuSeconds: 1, wallTime: .seconds(20)))
        #expect(result.isError)
        #expect(result.text.contains("CPU time limit exceeded"), "\(result.text)")
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func aWallClockTimeoutKillsTheSandbox() async throws {
        let started = ContinuousClock.now
        let result = try await shell("sleep 30", limits: SandboxLimits(wallTime: .seconds(1)))
        #expect(result.isError)
        #expect(result.text.contains("wall-clock time limit exceeded"))
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func allocatingPastTheMemoryLimitFails() async throws {
        let result = try await shell(
            "python3 -c 'x = bytearray(1 << 30); print(\"allocated\")'", limits: SandboxLimits(memoryBytes: 256 << 20))
        #expect(result.isError)
        #expect(result.text.contains("MemoryError"), "\(result.text)")
        #expect(!result.text.contains("allocated"))
    }

    @Test func printing100MBIsTruncatedWithANote() async throws {
        let result = try await shell(
            "head -c 100000000 /dev/zero | tr '\\0' a", limits: SandboxLimits(wallTime: .seconds(60), outputBytes: 64 << 10))
        #expect(!result.isError, "\(result.text.suffix(300))")
        #expect(result.value["stdout"]?.stringValue?.utf8.count == 64 << 10)
        #expect(result.value["truncated"] == .bool(true))
        #expect(result.text.contains("[output truncated: the command wrote 100000000 bytes to stdout; the first 65536 are shown]"))
    }

    @Test func aBackgroundProcessDiesWithTheSandbox() async throws {
        let marker = "anima-background-\(UUID().uuidString)"
        let started = ContinuousClock.now
        let result = try await shell("(exec -a \(marker) sleep 300) > /dev/null 2>&1 & echo started")
        #expect(result.text.contains("started"))
        #expect(ContinuousClock.now - started < .seconds(10))
        try await Task.sleep(for: .milliseconds(300))
        #expect(processes(containing: marker).isEmpty, "the background process survived the call")
    }

    @Test func ptraceIsBlocked() async throws {
        // PTRACE_TRACEME needs no privilege, so only the seccomp filter stops it.
        let code = "import ctypes; libc = ctypes.CDLL(None, use_errno=True); print('ptrace', libc.ptrace(0, 0, 0, 0), ctypes.get_errno())"
        let result = try await shell("python3 -c \"\(code)\"")
        #expect(result.text.contains("ptrace -1 1"), "\(result.text)")
    }

    @Test func mountIsBlocked() async throws {
        let result = try await shell("mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo mounted")
        #expect(result.isError)
        #expect(!result.text.contains("mounted"))
        let code =
            "import ctypes; libc = ctypes.CDLL(None, use_errno=True); print('mount', libc.mount(b'none', b'/tmp', b'tmpfs', 0, None), ctypes.get_errno())"
        let direct = try await shell("python3 -c \"\(code)\"")
        #expect(direct.text.contains("mount -1 1"), "\(direct.text)")
    }

    @Test func keyringRawSocketsAndNewNamespacesAreBlocked() async throws {
        let code = """
            import ctypes, socket
            libc = ctypes.CDLL(None, use_errno=True)
            print('add_key', libc.syscall(248, b'user', b'k', b'v', 1, -3), ctypes.get_errno())
            print('unshare', libc.unshare(0x10000000), ctypes.get_errno())
            try:
                socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            except PermissionError as error:
                print('raw', error.errno)
            """
        let result = try await PythonTool().call(["code": .string(code)], in: try fixture.context())
        #expect(result.text.contains("add_key -1 1"), "\(result.text)")
        #expect(result.text.contains("unshare -1 1"))
        #expect(result.text.contains("raw 1"))
    }

    @Test func theSandboxUserHasNoCapabilities() async throws {
        let result = try await shell("id -u; grep -E 'CapEff|CapBnd|NoNewPrivs' /proc/self/status")
        // Where Anima runs as root, the workspace's own user; otherwise nobody, mapped to the caller.
        #expect(result.text.contains("\(try fixture.workspace("agent-a").owner ?? 65534)"))
        #expect(result.text.contains("CapEff:\t0000000000000000"))
        #expect(result.text.contains("CapBnd:\t0000000000000000"))
        #expect(result.text.contains("NoNewPrivs:\t1"))
    }

    @Test func withoutBubblewrapTheToolRefusesToRun() async throws {
        let context = try fixture.context(sandbox: Sandbox(bwrapPath: "/nonexistent/bwrap"))
        let marker = try fixture.workspace("agent-a").root + "/ran-unsandboxed"
        let result = await ShellTool().call(["command": .string("touch \(marker)")], in: context)
        #expect(result.isError)
        #expect(result.text.contains("refused to run"))
        #expect(!FileManager.default.fileExists(atPath: marker))
        let python = await PythonTool().call(["code": "1"], in: context)
        #expect(python.isError)
        #expect(python.text.contains("refused to run"))
    }
}
