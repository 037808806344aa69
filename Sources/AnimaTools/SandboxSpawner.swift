import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The one thread that forks every sandbox, for the life of the process.
///
/// bubblewrap's `--die-with-parent` sets `PR_SET_PDEATHSIG`, whose "parent" is the
/// thread that forked, not the process: a sandbox forked from a pool thread was killed
/// when that thread retired, about five seconds later. Forking from a thread that never
/// ends keeps the intended meaning: sandboxes die when Anima dies, and only then.
final class SandboxSpawner: @unchecked Sendable {
    static let shared = SandboxSpawner()

    private let condition = NSCondition()
    private var jobs: [() -> Void] = []

    private init() {
        let thread = Thread { [unowned self] in self.serve() }
        thread.name = "anima-sandbox-spawner"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Runs `body` (a fork) on the spawner thread and waits for its result.
    func perform<T>(_ body: @escaping () -> T) -> T {
        if Thread.current.name == "anima-sandbox-spawner" { return body() }
        var result: T?
        let done = DispatchSemaphore(value: 0)
        condition.lock()
        jobs.append {
            result = body()
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        return result!
    }

    private func serve() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
