import AnimaCore
import CSandbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs tool processes under bubblewrap with least privilege.
///
/// A sandbox sees a read-only `/usr` and a few harmless `/etc` files, private size-capped
/// `/tmp`, `/var/tmp` and `/dev/shm`, `/proc` and a minimal `/dev`, and at most one
/// writable directory (the agent's workspace, at `/workspace`). Run as root, it runs as
/// its workspace's own user and in a cgroup of its own (`SandboxCgroup`). It has its own user, PID, IPC, UTS and network
/// namespaces (the network is shared only when granted), no capabilities, no new
/// privileges, a seccomp filter against ptrace, mounts, kernel modules, keyrings, new
/// namespaces and raw sockets, and resource limits. The user's home, `/root`, the Anima
/// data directory and other workspaces are simply not there. When bubblewrap is missing
/// or fails, nothing runs: there is no unsandboxed fallback.
public struct Sandbox: Sendable, Hashable {
    /// The bubblewrap executable.
    public var bwrapPath: String
    /// The uid and gid inside the sandbox when unprivileged, and as root for a sandbox with
    /// no workspace user (`SandboxPolicy.owner`).
    public var sandboxUID: UInt32

    public init(bwrapPath: String = "/usr/bin/bwrap", sandboxUID: UInt32 = 65534) {
        self.bwrapPath = bwrapPath
        self.sandboxUID = sandboxUID
    }

    public static let standard = Sandbox()

    /// util-linux's setpriv, which drops root to the sandbox user inside the sandbox.
    static let setprivPath = "/usr/bin/setpriv"

    /// Whether Anima runs as root (then bubblewrap runs privileged and the command drops to `sandboxUID`).
    var runsAsRoot: Bool { geteuid() == 0 }

    /// Files of `/etc` a tool may need that hold no secrets.
    static let etcFiles = [
        "alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "mime.types",
        "nsswitch.conf", "host.conf", "hosts", "resolv.conf", "gai.conf", "protocols", "services",
        "ssl/certs", "ssl/openssl.cnf", "ca-certificates", "ca-certificates.conf", "python3", "python3.11", "python3.12", "pip.conf",
    ]

    /// The bubblewrap arguments that build the sandbox around `command`.
    public func arguments(for command: [String], policy: SandboxPolicy) -> [String] {
        let (options, command) = parts(for: command, policy: policy)
        return options + ["--"] + command
    }

    /// bubblewrap's options (everything that names a host path) and, apart, the command
    /// it runs (with the privilege drop where Anima runs as root).
    func parts(for command: [String], policy: SandboxPolicy) -> (options: [String], command: [String]) {
        var args = ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
        if !policy.network { args.append("--unshare-net") }
        if !runsAsRoot {
            // An unprivileged user namespace maps the sandbox's user to the caller.
            args += ["--unshare-user", "--uid", "\(sandboxUID)", "--gid", "\(sandboxUID)", "--disable-userns", "--cap-drop", "ALL"]
        }
        args += [
            "--die-with-parent", "--new-session", "--hostname", "sandbox",
            "--ro-bind", "/usr", "/usr",
        ]
        for top in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: top) {
                args += ["--symlink", target, top]
            } else {
                args += ["--ro-bind-try", top, top]
            }
        }
        args += ["--dir", "/etc"]
        for file in Self.etcFiles { args += ["--ro-bind-try", "/etc/" + file, "/etc/" + file] }
        args += ["--proc", "/proc", "--dev", "/dev"]
        // Private scratch space, writable by the sandbox's user (the only user in it) and
        // size-capped; a root-owned 0755 tmpfs would leave a root-run sandbox none at all.
        for scratch in ["/tmp", "/var/tmp", "/dev/shm"] {
            args += ["--perms", "01777", "--size", "\(max(4096, policy.limits.temporaryBytes))", "--tmpfs", scratch]
        }
        var made: Set<String> = ["/", "/usr", "/etc", "/tmp", "/proc", "/dev", "/var", "/var/tmp", "/bin", "/sbin", "/lib", "/lib64"]
        for path in policy.readOnlyPaths {
            // Parents bubblewrap would create copy the host's modes (/root is 0700), so
            // make them traversable for the sandbox user first.
            var parent = ""
            for component in path.split(separator: "/").dropLast() {
                parent += "/" + component
                if made.insert(parent).inserted { args += ["--perms", "0755", "--dir", parent] }
            }
            args += ["--ro-bind", path, path]
        }
        if let workspace = policy.workspace {
            args += ["--bind", workspace, "/workspace", "--chdir", "/workspace"]
        } else {
            args += ["--chdir", "/tmp"]
        }
        args += ["--seccomp", "3"]
        var drop: [String] = []
        if runsAsRoot {
            // Root is exempt from RLIMIT_NPROC and its uid would follow into a user
            // namespace, so bubblewrap runs privileged (no user namespace) and the command
            // drops to the sandbox user with no capabilities before anything else runs.
            // The workspace's own user, so sandboxes of different workspaces cannot signal
            // each other or share a process limit.
            let uid = "\(policy.owner ?? sandboxUID)"
            let gid = "\(policy.group ?? policy.owner ?? sandboxUID)"
            // Supplementary groups: exactly the Linux groups mapped from the owner's Anima groups.
            let groups =
                policy.supplementaryGroups.isEmpty
                ? ["--clear-groups"] : ["--groups", policy.supplementaryGroups.map(String.init).joined(separator: ",")]
            drop =
                [Self.setprivPath, "--reuid", uid, "--regid", gid] + groups + [
                    "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
                ]
        }
        return (args, drop + command)
    }

    /// Why sandboxes have no control group here (so no memory, process or CPU cap on a
    /// sandbox as a whole, only each process's rlimits), or nil when they have one.
    public static var wholeSandboxLimitsProblem: String? {
        SandboxCgroup.unavailableReason.map {
            "sandboxes run without a control group, so only per-process limits apply (no cap on a sandbox's total memory, processes or CPU): \($0)"
        }
    }

    /// A write to a sandbox that died must fail with EPIPE, not kill Anima with SIGPIPE.
    private static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// Checks that bubblewrap is there and the seccomp filter builds.
    public func check() throws(ToolError) {
        guard access(bwrapPath, X_OK) == 0 else {
            throw .sandboxUnavailable("bubblewrap is not at \(bwrapPath); install it (apt-get install bubblewrap, or run scripts/setup.sh)")
        }
        if runsAsRoot, access(Self.setprivPath, X_OK) != 0 {
            throw .sandboxUnavailable("\(Self.setprivPath) (util-linux) is missing; it drops root's rights inside the sandbox")
        }
        let fd = anima_seccomp_filter_fd()
        guard fd >= 0 else { throw .sandboxUnavailable("the seccomp filter could not be built (libseccomp error \(-fd))") }
        close(fd)
    }

    /// Starts `command` in a sandbox and returns the running process.
    public func launch(_ command: [String], policy: SandboxPolicy) throws(ToolError) -> SandboxedProcess {
        _ = Self.ignoreBrokenPipes
        try check()
        if let workspace = policy.workspace, !FileManager.default.fileExists(atPath: workspace) {
            throw .sandboxUnavailable("the workspace \(workspace) does not exist")
        }
        let filter = anima_seccomp_filter_fd()
        guard filter >= 0 else { throw .sandboxUnavailable("the seccomp filter could not be built (libseccomp error \(-filter))") }
        defer { close(filter) }
        var pipes: [[Int32]] = []
        defer { for pair in pipes { for fd in pair where fd >= 0 { close(fd) } } }
        for _ in 0..<3 {
            var pair: [Int32] = [-1, -1]
            guard anima_pipe_cloexec(&pair) == 0 else { throw .sandboxUnavailable("no pipe: \(String(cString: strerror(errno)))") }
            pipes.append(pair)
        }
        // bubblewrap reads its options from a memory file (`--args 4`), so the sandbox's
        // /proc/1/cmdline, which is bubblewrap's, shows no host path.
        let (options, inner) = parts(for: command, policy: policy)
        var bytes: [UInt8] = []
        for option in options {
            bytes += option.utf8
            bytes.append(0)
        }
        let argumentFile = bytes.withUnsafeBytes { anima_memfd_sealed($0.baseAddress, $0.count) }
        guard argumentFile >= 0 else {
            throw .sandboxUnavailable("no memory file for bubblewrap's arguments: \(String(cString: strerror(-argumentFile)))")
        }
        defer { close(argumentFile) }
        let argv = [bwrapPath, "--args", "4", "--"] + inner
        let environment = SandboxPolicy.baseEnvironment.merging(policy.environment) { _, new in new }
        let envp = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let limits = policy.limits
        let rlimits = anima_limits(
            cpu_seconds: Int64(limits.cpuSeconds), address_space: Int64(limits.memoryBytes),
            processes: Int64(limits.processes), file_size: Int64(limits.fileSizeBytes),
            open_files: Int64(limits.openFiles))
        let cgroup = try SandboxCgroup.make(limits: limits)
        let groupFiles = cgroup?.procsFiles ?? []
        let bwrapPath = bwrapPath
        let stdio = (pipes[0][0], pipes[1][1], pipes[2][1])
        // Forked from the spawner's thread, which lives as long as Anima: see SandboxSpawner.
        let pid = SandboxSpawner.thread.runAndWait {
            withCStrings(argv) { cArgv in
                withCStrings(envp) { cEnvp in
                    [filter, argumentFile].withUnsafeBufferPointer { extra in
                        groupFiles.withUnsafeBufferPointer { groups in
                            var rlimits = rlimits
                            return anima_spawn(
                                bwrapPath, cArgv, cEnvp, stdio.0, stdio.1, stdio.2, extra.baseAddress, Int32(extra.count),
                                groups.baseAddress, Int32(groups.count), &rlimits)
                        }
                    }
                }
            }
        }
        cgroup?.closeProcsFiles()
        guard pid > 0 else {
            cgroup?.remove()
            throw .sandboxUnavailable("bubblewrap could not start: \(String(cString: strerror(-pid)))")
        }
        let process = SandboxedProcess(pid: pid, stdin: pipes[0][1], stdout: pipes[1][0], stderr: pipes[2][0], cgroup: cgroup)
        for (pair, keep) in zip(pipes.indices, [1, 0, 0]) {
            close(pipes[pair][1 - keep])
            pipes[pair] = [-1, -1]
        }
        return process
    }

    /// Runs `command` to completion in a sandbox: collects its output within the output
    /// limit, kills the whole sandbox at the wall-clock limit, and reports how it ended.
    public func run(_ command: [String], policy: SandboxPolicy) async throws(ToolError) -> SandboxResult {
        let started = ContinuousClock.now
        let process = try launch(command, policy: policy)
        process.closeInput()
        let limits = policy.limits
        let result = await DedicatedThread.offload(name: SandboxedProcess.waitThreadName, stackSize: 1 << 20) {
            process.collect(limit: limits.outputBytes, until: started + limits.wallTime, started: started)
        }
        process.terminate()
        if case .exited(1) = result.termination, result.stdoutBytes == 0, result.stderr.hasPrefix("bwrap:") {
            throw .sandboxUnavailable(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return result
    }
}

/// Calls `body` with a NULL-terminated C array of copies of `strings`.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
