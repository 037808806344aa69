/// Resource limits for one sandboxed process tree.
public struct SandboxLimits: Sendable, Hashable {
    /// CPU seconds (RLIMIT_CPU); past it the kernel kills the process.
    public var cpuSeconds: Int
    /// Memory in bytes: each process's address space (RLIMIT_AS; allocations past it
    /// fail) and, where control groups are available, the whole sandbox's memory (past
    /// it the kernel kills a process and the result says so).
    public var memoryBytes: Int
    /// Processes for the sandbox's user (RLIMIT_NPROC) and, with control groups, for the
    /// sandbox as a whole (pids.max); stops fork bombs.
    public var processes: Int
    /// CPUs the sandbox may keep busy at once (cgroup CPU quota), where control groups are available.
    public var cpus: Double
    /// Size of each of the private `/tmp`, `/var/tmp` and `/dev/shm`, in bytes.
    public var temporaryBytes: Int
    /// Largest file the tool may write, in bytes (RLIMIT_FSIZE).
    public var fileSizeBytes: Int
    /// Open file descriptors (RLIMIT_NOFILE).
    public var openFiles: Int
    /// Wall-clock time before the whole sandbox is killed.
    public var wallTime: Duration
    /// Bytes kept of each of stdout and stderr; the rest is dropped with a note.
    public var outputBytes: Int

    public init(
        cpuSeconds: Int = 10, memoryBytes: Int = 1 << 30, processes: Int = 256, fileSizeBytes: Int = 64 << 20,
        openFiles: Int = 256, wallTime: Duration = .seconds(30), outputBytes: Int = 256 << 10,
        cpus: Double = 1, temporaryBytes: Int = 64 << 20
    ) {
        self.cpus = cpus
        self.temporaryBytes = temporaryBytes
        self.cpuSeconds = cpuSeconds
        self.memoryBytes = memoryBytes
        self.processes = processes
        self.fileSizeBytes = fileSizeBytes
        self.openFiles = openFiles
        self.wallTime = wallTime
        self.outputBytes = outputBytes
    }

    public static let standard = SandboxLimits()
}
