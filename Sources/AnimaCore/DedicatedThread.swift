import Foundation

/// A named thread of its own for work that blocks: C calls, `fsync`, `fork`, `poll`.
///
/// Blocking calls on Swift's cooperative pool starve every other task, so Anima runs them
/// here. One instance is a serial executor: an actor that returns it from `unownedExecutor`
/// runs all its jobs on this thread, and `run` hands it one closure and awaits the result.
/// Jobs run in the order they arrive. The thread ends once the executor is released and its
/// queue is empty. `detach` and `offload` start a thread for one long loop or one call
/// instead, for work that owns its thread outright (a decode loop, a pipe reader).
public final class DedicatedThread: SerialExecutor, @unchecked Sendable {
    /// The queue the thread serves; the thread holds it, not the executor, so releasing the
    /// executor ends the thread.
    private final class Inbox: @unchecked Sendable {
        enum Work {
            case job(UnownedJob)
            case closure(() -> Void)
        }

        let condition = NSCondition()
        var work: [Work] = []
        var stopped = false
        /// The thread, once it runs.
        var thread: pthread_t?
    }

    /// The thread's name, as `ps -L` and debuggers show it.
    public let name: String
    private let inbox = Inbox()

    /// Starts the thread.
    /// - Parameters:
    ///   - name: the thread's name; keep it stable, tools and tests look threads up by it.
    ///   - stackSize: bytes of stack; nil for the system's default.
    public init(name: String, stackSize: Int? = nil) {
        self.name = name
        let inbox = self.inbox
        let thread = Thread { [unowned(unsafe) self] in
            // `self` is touched only while actor jobs exist, and they keep their actor (which
            // owns this executor) alive; the loop itself holds only the inbox.
            Self.nameCurrentThread(name)
            inbox.condition.lock()
            inbox.thread = pthread_self()
            inbox.condition.unlock()
            while true {
                inbox.condition.lock()
                while inbox.work.isEmpty && !inbox.stopped { inbox.condition.wait() }
                if inbox.work.isEmpty && inbox.stopped {
                    inbox.condition.unlock()
                    return
                }
                let batch = inbox.work
                inbox.work.removeAll()
                inbox.condition.unlock()
                for item in batch {
                    switch item {
                    case .job(let job): job.runSynchronously(on: UnownedSerialExecutor(ordinary: self))
                    case .closure(let body): body()
                    }
                }
            }
        }
        Self.configure(thread, name: name, stackSize: stackSize)
        thread.start()
    }

    deinit {
        inbox.condition.lock()
        inbox.stopped = true
        inbox.condition.signal()
        inbox.condition.unlock()
    }

    /// Whether the caller is running on this executor's thread.
    public var isCurrent: Bool {
        inbox.condition.lock()
        defer { inbox.condition.unlock() }
        return inbox.thread.map { pthread_equal($0, pthread_self()) != 0 } ?? false
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        submit(.job(UnownedJob(job)))
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }

    /// Runs `body` on the thread after the work queued before it, and returns its result
    /// without blocking the caller's thread.
    public func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            submit(.closure { continuation.resume(returning: Result { () throws(E) -> T in try body() }) })
        }
        return try result.get()
    }

    /// Runs `body` on the thread and blocks the caller until it returns; runs it at once when
    /// called from the thread itself. For synchronous callers only: from async code, `run`.
    public func runAndWait<T, E: Error>(_ body: @escaping () throws(E) -> T) throws(E) -> T {
        if isCurrent { return try body() }
        var result: Result<T, E>?
        let done = DispatchSemaphore(value: 0)
        submit(
            .closure {
                result = Result { () throws(E) -> T in try body() }
                done.signal()
            })
        done.wait()
        return try result!.get()
    }

    private func submit(_ work: Inbox.Work) {
        inbox.condition.lock()
        inbox.work.append(work)
        inbox.condition.signal()
        inbox.condition.unlock()
    }

    /// Starts a thread that runs `body` (typically a loop with its own inbox) and ends with it.
    /// - Parameters:
    ///   - name: the thread's name.
    ///   - stackSize: bytes of stack; nil for the system's default.
    public static func detach(name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            nameCurrentThread(name)
            body()
        }
        configure(thread, name: name, stackSize: stackSize)
        thread.start()
    }

    /// Runs one blocking call on a thread started for it, and returns its result without
    /// blocking the caller's thread; calls made together run in parallel.
    public static func offload<T: Sendable, E: Error>(
        name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () throws(E) -> T
    ) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            detach(name: name, stackSize: stackSize) {
                continuation.resume(returning: Result { () throws(E) -> T in try body() })
            }
        }
        return try result.get()
    }

    /// Names the calling thread for `ps -L`, `top -H` and debuggers; Linux keeps the first
    /// 15 bytes. (Foundation's `Thread.name`, set before `start`, does not reach the system.)
    private static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    /// The calling thread's name as the system knows it (at most 15 bytes).
    public static var currentName: String {
        let fd = open("/proc/thread-self/comm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        return String(decoding: buffer.prefix(max(0, n)), as: UTF8.self).trimmingCharacters(in: .newlines)
    }

    private static func configure(_ thread: Thread, name: String, stackSize: Int?) {
        thread.name = name
        if let stackSize { thread.stackSize = stackSize }
    }
}
