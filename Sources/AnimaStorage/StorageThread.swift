import Foundation

/// A serial executor that runs an actor's jobs on a dedicated thread, so that blocking
/// database calls (SQLite with synchronous commits, fsync of index snapshots) never
/// occupy Swift's cooperative pool. The thread ends when the executor is released.
final class StorageThread: SerialExecutor, @unchecked Sendable {
    private final class Queue: @unchecked Sendable {
        let condition = NSCondition()
        var jobs: [UnownedJob] = []
        var stopped = false
    }

    private let queue = Queue()

    init(name: String) {
        let queue = self.queue
        let thread = Thread { [unowned(unsafe) self] in
            // `self` is only touched while jobs exist, and jobs keep their actor (which owns
            // this executor) alive; the loop itself holds only the queue. (Touching it before
            // the first job crashed when a store was opened and dropped before the thread ran.)
            while true {
                queue.condition.lock()
                while queue.jobs.isEmpty && !queue.stopped { queue.condition.wait() }
                if queue.jobs.isEmpty && queue.stopped {
                    queue.condition.unlock()
                    return
                }
                let batch = queue.jobs
                queue.jobs.removeAll()
                queue.condition.unlock()
                let executor = UnownedSerialExecutor(ordinary: self)
                for job in batch { job.runSynchronously(on: executor) }
            }
        }
        thread.name = name
        thread.stackSize = 4 << 20
        thread.start()
    }

    deinit {
        queue.condition.lock()
        queue.stopped = true
        queue.condition.signal()
        queue.condition.unlock()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.condition.lock()
        queue.jobs.append(job)
        queue.condition.signal()
        queue.condition.unlock()
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }
}
