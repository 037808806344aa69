import AnimaCore
import Foundation
import Testing

@testable import AnimaTools

#if canImport(Glibc)
import Glibc
#endif

/// Sandboxes live as long as they should, each workspace has its own user, a sandbox as
/// a whole has a memory and process cap, and nothing inside learns host paths.
@Suite("Sandbox isolation and lifetime")
struct SandboxIsolationTests {
    let fixture: ToolFixture

    init() throws { fixture = try ToolFixture() }

    func shell(_ command: String, limits: SandboxLimits = .standard, in agent: String = "agent-a") async throws -> ToolResult {
        await ShellTool(limits: limits).call(["command": .string(command)], in: try fixture.context(agent))
    }

    // MARK: H2: a sandbox outlives the thread that started it (the shell: see ToolCLITests)

    @Test func aPythonSessionKeepsItsStateAcrossCallsSpacedSixSecondsApart() async throws {
        defer { fixture.remove() }
        let python = PythonTool()
        let context = try fixture.context()
        let first = await python.call(["code": "kept = 'still here'"], in: context)
        #expect(!first.isError, "\(first.text)")
        try await Task.sleep(for: .seconds(6))
        let second = await python.call(["code": "kept"], in: context)
        #expect(second.text == "'still here'", "\(second.text)")
        await python.sessions.closeAll()
    }

    // MARK: M1: every workspace has its own user

    @Test(.enabled(if: geteuid() == 0, "workspaces have users of their own only where Anima runs as root"))
    func workspacesHaveTheirOwnStableUsers() async throws {
        defer { fixture.remove() }
        let a = try fixture.workspace("agent-a")
        let b = try fixture.workspace("agent-b")
        let (uidA, gidA) = (try #require(a.owner), try #require(a.group))
        let (uidB, gidB) = (try #require(b.owner), try #require(b.group))
        #expect(uidA != uidB && gidA != gidB)
        #expect(uidA != 65534 && uidA != 0)
        // The directory's owner is the record: opening again (as after a restart) keeps it.
        let again = try Workspace(existing: a.root)
        #expect(again.owner == uidA && again.group == gidA)
        // The sandbox runs as the workspace's user.
        let id = try await shell("id -u; id -g", in: "agent-a")
        #expect(id.text.contains("\(uidA)\n\(gidA)"), "\(id.text)")
        let idB = try await shell("id -u", in: "agent-b")
        #expect(idB.text.contains("\(uidB)"), "\(idB.text)")
    }

    @Test(.enabled(if: geteuid() == 0, "workspaces have users of their own only where Anima runs as root"))
    func aWorkspaceOfTheOldSharedUserIsGivenItsOwn() throws {
        defer { fixture.remove() }
        let path = fixture.base + "/legacy"
        try FileManager.default.createDirectory(atPath: path + "/sub", withIntermediateDirectories: true)
        try "old".write(toFile: path + "/sub/file.txt", atomically: false, encoding: .utf8)
        symlink("/etc/shadow", path + "/link")
        for item in [path, path + "/sub", path + "/sub/file.txt"] { chown(item, 65534, 65534) }
        let workspace = try Workspace(existing: path)
        let owner = try #require(workspace.owner)
        for item in [path, path + "/sub", path + "/sub/file.txt"] {
            var info = stat()
            #expect(stat(item, &info) == 0 && info.st_uid == owner && info.st_gid == workspace.group, "\(item)")
        }
        // A symbolic link is changed itself, never what it points to.
        var shadow = stat()
        #expect(stat("/etc/shadow", &shadow) == 0 && shadow.st_uid == 0)
    }

    @Test(.enabled(if: geteuid() == 0, "workspaces have users of their own only where Anima runs as root"))
    func oneWorkspacesSandboxCannotReadOrSignalAnothers() async throws {
        defer { fixture.remove() }
        let a = try fixture.workspace("agent-a")
        let b = try fixture.workspace("agent-b")
        try "a's secret".write(toFile: a.root + "/secret.txt", atomically: false, encoding: .utf8)
        chown(a.root + "/secret.txt", a.owner!, a.group!)
        chmod(a.root + "/secret.txt", 0o600)
        // Even with A's workspace mounted into it, B's sandbox cannot read A's files.
        let policy = SandboxPolicy(workspace: b, readOnlyPaths: [a.root])
        let read = try await Sandbox.standard.run(["/bin/cat", a.root + "/secret.txt"], policy: policy)
        #expect(!read.stdout.contains("a's secret"))
        #expect(read.stderr.contains("Permission denied"), "\(read.report)")
        // A process running as B's user cannot signal one running as A's; as A's it can.
        let marker = "anima-victim-\(UUID().uuidString)"
        let victim = try Sandbox.standard.launch(["/bin/bash", "-c", "exec -a \(marker) sleep 60"], policy: SandboxPolicy(workspace: a))
        defer { victim.terminate() }
        var pid: pid_t?
        for _ in 0..<100 where pid == nil {
            // The sleep itself (argv[0] is the marker), not bubblewrap, whose command line holds it too.
            pid = processes(containing: marker).filter { $0.contains(": \(marker)") }.compactMap { pid_t($0.prefix { $0 != ":" }) }.first
            if pid == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        let target = try #require(pid)
        func signal(as uid: uid_t, _ gid: gid_t) throws -> String {
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            probe.arguments = [
                "-c",
                "import os\nos.setgroups([]); os.setgid(\(gid)); os.setuid(\(uid))\ntry:\n os.kill(\(target), 0); print('allowed')\nexcept PermissionError: print('denied')",
            ]
            let out = Pipe()
            probe.standardOutput = out
            try probe.run()
            probe.waitUntilExit()
            return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        }
        #expect(try signal(as: b.owner!, b.group!).contains("denied"))
        #expect(try signal(as: a.owner!, a.group!).contains("allowed"))
    }

    // MARK: M2: a control group for the sandbox as a whole

    @Test(.enabled(if: Sandbox.wholeSandboxLimitsProblem == nil, "\(Sandbox.wholeSandboxLimitsProblem ?? "")"))
    func manyProcessesTogetherOverTheMemoryLimitAreKilledAndTheResultSaysSo() async throws {
        defer { fixture.remove() }
        // Each child stays under its address-space limit; together they are over the sandbox's.
        let code = """
            import os
            kids = []
            for i in range(4):
                pid = os.fork()
                if pid == 0:
                    block = b'x' * (100 << 20)
                    import time; time.sleep(2); os._exit(0)
                kids.append(pid)
            killed = sum(1 for pid in kids if os.WIFSIGNALED(os.waitpid(pid, 0)[1]))
            print('killed', killed)
            raise SystemExit(1 if killed else 0)
            """
        let result = try await shell("python3 -c \"\(code)\"", limits: SandboxLimits(memoryBytes: 192 << 20, wallTime: .seconds(30)))
        #expect(result.isError)
        #expect(result.text.contains("memory limit was exceeded"), "\(result.text)")
        #expect(result.value["termination"]?.stringValue?.contains("memory limit") == true)
    }

    @Test(.enabled(if: Sandbox.wholeSandboxLimitsProblem == nil, "\(Sandbox.wholeSandboxLimitsProblem ?? "")"))
    func theControlGroupCapsMemoryAndProcessesAndIsRemovedAfterwards() async throws {
        defer { fixture.remove() }
        let limits = SandboxLimits(memoryBytes: 300 << 20, processes: 40)
        let process = try Sandbox.standard.launch(
            ["/bin/sleep", "30"], policy: SandboxPolicy(workspace: try fixture.workspace("agent-a"), limits: limits))
        let group = try #require(process.cgroup)
        let memory = group.directories.compactMap { dir in
            ["memory.max", "memory.limit_in_bytes"].lazy.compactMap { try? String(contentsOfFile: dir + "/" + $0, encoding: .utf8) }.first
        }.first
        #expect(memory?.trimmingCharacters(in: .whitespacesAndNewlines) == "\(300 << 20)")
        let pids = group.directories.compactMap { try? String(contentsOfFile: $0 + "/pids.max", encoding: .utf8) }.first
        #expect(pids?.trimmingCharacters(in: .whitespacesAndNewlines) == "40")
        // bubblewrap itself is in the group, so everything it starts is.
        let members = group.directories.compactMap { try? String(contentsOfFile: $0 + "/cgroup.procs", encoding: .utf8) }.first ?? ""
        #expect(members.split(separator: "\n").contains(Substring("\(process.pid)")))
        process.terminate()
        for dir in group.directories { #expect(!FileManager.default.fileExists(atPath: dir), "\(dir) was left behind") }
    }

    // MARK: M4: io_uring and vsock

    @Test func ioUringAndVsockAreRefused() async throws {
        defer { fixture.remove() }
        let code = """
            import ctypes, socket
            libc = ctypes.CDLL(None, use_errno=True)
            params = ctypes.create_string_buffer(120)
            print('io_uring_setup', libc.syscall(425, 8, params), ctypes.get_errno())
            print('io_uring_enter', libc.syscall(426, 0, 0, 0, 0, None, 0), ctypes.get_errno())
            print('io_uring_register', libc.syscall(427, 0, 0, None, 0), ctypes.get_errno())
            try:
                socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM); print('vsock opened')
            except OSError as error:
                print('vsock', error.errno)
            """
        let python = PythonTool()
        let result = await python.call(["code": .string(code)], in: try fixture.context())
        await python.sessions.closeAll()
        #expect(result.text.contains("io_uring_setup -1 38"), "\(result.text)")
        #expect(result.text.contains("io_uring_enter -1 38"))
        #expect(result.text.contains("io_uring_register -1 38"))
        #expect(result.text.contains("vsock 1"))
    }

    // MARK: L2: private scratch directories

    @Test func tmpVarTmpAndDevShmAreWritableAndPrivate() async throws {
        defer { fixture.remove() }
        let name = "scratch-\(UUID().uuidString)"
        let result = try await shell("for d in /tmp /var/tmp /dev/shm; do echo data > $d/\(name) && cat $d/\(name); done")
        #expect(!result.isError, "\(result.text)")
        #expect(result.value["stdout"]?.stringValue == "data\ndata\ndata\n")
        for dir in ["/tmp", "/var/tmp", "/dev/shm"] { #expect(!FileManager.default.fileExists(atPath: dir + "/" + name)) }
        // Size-capped: filling /tmp past its size fails instead of eating the host's memory.
        let full = try await shell("head -c 8000000 /dev/zero > /tmp/big", limits: SandboxLimits(temporaryBytes: 4 << 20))
        #expect(full.text.contains("No space left on device"), "\(full.text)")
    }

    // MARK: L3: no host paths

    @Test func theSandboxesCommandLinesNameNoHostPath() async throws {
        defer { fixture.remove() }
        let result = try await shell("for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done")
        #expect(!result.isError, "\(result.text)")
        #expect(result.text.contains("bwrap"), "\(result.text)")
        #expect(!result.text.contains(fixture.base), "\(result.text)")
        #expect(!result.text.contains("--bind"))
    }
}
