/// Resource limits for one sandboxed process tree.
public struct SandboxLimits: Sendable, Hashable {
    /// CPU seconds (RLIMIT_CPU); past it the kernel kills the process.
    public var cpuSeconds: Int
    /// Address space in bytes (RLIMIT_AS); allocations past it fail.
    public var memoryBytes: Int
    /// Processes for the sandbox's user (RLIMIT_NPROC); stops fork bombs.
    public var processes: Int
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
        openFiles: Int = 256, wallTime: Duration = .seconds(30), outputBytes: Int = 256 << 10
    ) {
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
