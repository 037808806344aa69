import AnimaCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One sandbox's control group: a memory, process and CPU cap on the sandbox as a whole,
/// where rlimits only cap each process.
///
/// Works on cgroup v2 (`memory.max`, `pids.max`, `cpu.max`) and on v1 hierarchies
/// (`memory.limit_in_bytes`, `pids.max`, `cpu.cfs_quota_us`). Groups live under
/// `anima-sandboxes` (v2: at the root of the hierarchy; v1: beside Anima's own group) and
/// are removed when the sandbox ends. Where no hierarchy is writable (Anima not root, a
/// container without delegation) sandboxes run with their rlimits alone, and
/// `SandboxCgroup.unavailableReason` says why.
final class SandboxCgroup: @unchecked Sendable {
    /// The groups' directories: one on v2, one per controller on v1.
    let directories: [String]
    /// Open `cgroup.procs` files, which the forked child writes to join.
    let procsFiles: [Int32]
    private let version: Version
    private var removed = false
    private let lock = NSLock()

    enum Version: Sendable, Equatable {
        /// The unified hierarchy mounted at `root`.
        case v2(root: String)
        /// Separate hierarchies; the parents under which sandboxes' groups are made.
        case v1(memory: String, pids: String, cpu: String?)
    }

    /// Where sandboxes' groups go, or why there is none.
    static let parent: Result<Version, SandboxCgroupError> = findParent()

    /// Why sandboxes run without a control group, or nil when they have one.
    static var unavailableReason: String? {
        if case .failure(let error) = parent { return error.description }
        return nil
    }

    private static let counter = Counter()

    /// Makes a group for one sandbox with `limits`, or nil (with the reason in
    /// `unavailableReason`) when control groups are not available.
    static func make(limits: SandboxLimits) throws(ToolError) -> SandboxCgroup? {
        guard case .success(let version) = parent else { return nil }
        let name = "\(getpid())-\(counter.next())"
        var directories: [String] = []
        var settings: [(String, String)] = []
        let memory = "\(limits.memoryBytes)"
        let quota = Int(max(0.01, limits.cpus) * 100_000)
        switch version {
        case .v2(let root):
            let dir = root + "/anima-sandboxes/" + name
            directories = [dir]
            settings = [
                ("memory.max", memory), ("memory.swap.max", "0"), ("memory.oom.group", "1"),
                ("pids.max", "\(limits.processes)"), ("cpu.max", "\(quota) 100000"),
            ]
        case .v1(let memoryParent, let pidsParent, let cpuParent):
            directories = [memoryParent + "/" + name, pidsParent + "/" + name] + (cpuParent.map { [$0 + "/" + name] } ?? [])
            settings = [
                ("memory.limit_in_bytes", memory), ("memory.memsw.limit_in_bytes", memory), ("memory.swappiness", "0"),
                ("pids.max", "\(limits.processes)"), ("cpu.cfs_period_us", "100000"), ("cpu.cfs_quota_us", "\(quota)"),
            ]
        }
        var made: [String] = []
        var files: [Int32] = []
        func undo() {
            for fd in files { close(fd) }
            for dir in made.reversed() { rmdir(dir) }
        }
        for dir in directories {
            guard mkdir(dir, 0o755) == 0 else {
                let reason = String(cString: strerror(errno))
                undo()
                throw .sandboxUnavailable("could not create the control group \(dir): \(reason)")
            }
            made.append(dir)
        }
        for (file, value) in settings {
            guard let dir = directories.first(where: { access($0 + "/" + file, F_OK) == 0 }) else { continue }
            // Optional knobs (swap accounting, oom.group on old kernels) may be absent; the caps may not.
            let required = ["memory.max", "memory.limit_in_bytes", "pids.max", "cpu.max", "cpu.cfs_quota_us"].contains(file)
            if !write(value, to: dir + "/" + file), required {
                undo()
                throw .sandboxUnavailable("could not set \(file) of the control group \(dir): \(String(cString: strerror(errno)))")
            }
        }
        for dir in directories {
            let fd = open(dir + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else {
                let reason = String(cString: strerror(errno))
                undo()
                throw .sandboxUnavailable("could not open \(dir)/cgroup.procs: \(reason)")
            }
            files.append(fd)
        }
        return SandboxCgroup(directories: directories, procsFiles: files, version: version)
    }

    private init(directories: [String], procsFiles: [Int32], version: Version) {
        self.directories = directories
        self.procsFiles = procsFiles
        self.version = version
    }

    deinit { remove() }

    /// Closes the `cgroup.procs` files once the child has joined.
    func closeProcsFiles() {
        for fd in procsFiles { close(fd) }
    }

    /// How many processes the kernel killed for going over the memory cap.
    var memoryKills: Int {
        let (file, key): (String, String) =
            switch version {
            case .v2: (directories[0] + "/memory.events", "oom_kill")
            case .v1: (directories[0] + "/memory.oom_control", "oom_kill")
            }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == key { return Int(parts[1]) ?? 0 }
        }
        return 0
    }

    /// Kills whatever is left in the group and removes it; safe to call more than once.
    func remove() {
        lock.lock()
        defer { lock.unlock() }
        if removed { return }
        removed = true
        if case .v2 = version, write("1", to: directories[0] + "/cgroup.kill") {
        } else {
            for dir in directories {
                let pids = (try? String(contentsOfFile: dir + "/cgroup.procs", encoding: .utf8)) ?? ""
                for pid in pids.split(separator: "\n").compactMap({ pid_t($0) }) { kill(pid, SIGKILL) }
            }
        }
        // Killed processes leave the group once the kernel has torn them down: a moment.
        for dir in directories {
            for _ in 0..<200 {
                if rmdir(dir) == 0 || errno == ENOENT { break }
                usleep(5000)
            }
        }
    }

    // MARK: finding the hierarchy

    private static func findParent() -> Result<Version, SandboxCgroupError> {
        // Only the unified hierarchy has cgroup.controllers at its top (a hybrid layout
        // mounts a tmpfs at /sys/fs/cgroup, with v1 hierarchies in it).
        if access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 {
            let root = "/sys/fs/cgroup"
            let controllers = (try? String(contentsOfFile: root + "/cgroup.controllers", encoding: .utf8)) ?? ""
            let available = Set(controllers.split(whereSeparator: \.isWhitespace).map(String.init))
            let needed: Set<String> = ["memory", "pids", "cpu"]
            guard needed.isSubset(of: available) else {
                return .failure(.missingControllers(needed.subtracting(available).sorted()))
            }
            // The root group may hold processes and still hand controllers down; best effort.
            _ = write("+memory +pids +cpu", to: root + "/cgroup.subtree_control")
            let parent = root + "/anima-sandboxes"
            if mkdir(parent, 0o755) != 0, errno != EEXIST { return .failure(.notWritable(parent, errno)) }
            guard write("+memory +pids +cpu", to: parent + "/cgroup.subtree_control") else {
                return .failure(.notWritable(parent + "/cgroup.subtree_control", errno))
            }
            sweep(parent)
            return .success(.v2(root: root))
        }
        guard let memory = v1Parent("memory"), let pids = v1Parent("pids") else {
            return .failure(.noHierarchy)
        }
        for parent in [memory, pids] {
            if mkdir(parent, 0o755) != 0, errno != EEXIST { return .failure(.notWritable(parent, errno)) }
            sweep(parent)
        }
        var cpu = v1Parent("cpu")
        if let parent = cpu {
            if mkdir(parent, 0o755) != 0, errno != EEXIST { cpu = nil } else { sweep(parent) }
        }
        return .success(.v1(memory: memory, pids: pids, cpu: cpu))
    }

    /// `<mount of controller>/<Anima's own group>/anima-sandboxes` on a v1 hierarchy.
    private static func v1Parent(_ controller: String) -> String? {
        let mounts = ProcFile.read("/proc/self/mountinfo") ?? ""
        var mountPoint: String?
        for line in mounts.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let fields = halves[1].split(separator: " ")
            guard fields.count >= 3, fields[0] == "cgroup" else { continue }
            guard fields[2].split(separator: ",").contains(Substring(controller)) else { continue }
            let left = halves[0].split(separator: " ")
            if left.count >= 5 { mountPoint = String(left[4]) }
            break
        }
        guard let mountPoint else { return nil }
        let groups = ProcFile.read("/proc/self/cgroup") ?? ""
        var own = ""
        for line in groups.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            if parts.count == 3, parts[1].split(separator: ",").contains(Substring(controller)) {
                own = parts[2] == "/" ? "" : String(parts[2])
            }
        }
        guard access(mountPoint + own, W_OK) == 0 else { return nil }
        return mountPoint + own + "/anima-sandboxes"
    }

    /// Removes groups a crashed Anima left behind: those named after a process that is
    /// gone (a live Anima's group may be empty for a moment before its sandbox joins).
    private static func sweep(_ parent: String) {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] {
            guard let owner = entry.split(separator: "-").first.flatMap({ pid_t($0) }),
                kill(owner, 0) != 0, errno == ESRCH
            else { continue }
            let path = parent + "/" + entry
            var info = stat()
            if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { rmdir(path) }
        }
    }

    private static func write(_ value: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        return bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count
    }

    private func write(_ value: String, to path: String) -> Bool { Self.write(value, to: path) }

    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func next() -> Int {
            lock.lock()
            defer { lock.unlock() }
            value += 1
            return value
        }
    }
}

/// Why sandboxes have no control group.
enum SandboxCgroupError: Error, Sendable, CustomStringConvertible {
    case noHierarchy
    case missingControllers([String])
    case notWritable(String, Int32)

    var description: String {
        switch self {
        case .noHierarchy:
            "no writable cgroup hierarchy with the memory and pids controllers (run Anima as root, or delegate a cgroup to it)"
        case .missingControllers(let names):
            "the cgroup v2 hierarchy lacks the \(names.joined(separator: ", ")) controller(s); enable them in the kernel or systemd"
        case .notWritable(let path, let error):
            "\(path) is not writable (\(String(cString: strerror(error)))); run Anima as root, or delegate a cgroup to it"
        }
    }
}
