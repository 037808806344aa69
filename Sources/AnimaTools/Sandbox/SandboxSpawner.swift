import AnimaCore

/// The one thread that forks every sandbox, for the life of the process.
///
/// bubblewrap's `--die-with-parent` sets `PR_SET_PDEATHSIG`, whose "parent" is the
/// thread that forked, not the process: a sandbox forked from a pool thread was killed
/// when that thread retired, about five seconds later. Forking from a thread that never
/// ends keeps the intended meaning: sandboxes die when Anima dies, and only then.
enum SandboxSpawner {
    /// Never released, so the thread lives as long as the process.
    static let thread = DedicatedThread(name: "anima-sandbox-spawner", stackSize: 1 << 20)
}
