import AnimaKernel
import Hummingbird
import NIOCore
import ServiceLifecycle
import Synchronization

/// Work done for one HTTP request, bounded by its client and by the server's shutdown: the
/// same rule for every route that does long work (generations, agent runs, tool calls,
/// waits, MCP calls).
///
/// The work stops when the client hangs up (it would be done for nobody, holding a slot),
/// and `grace` seconds after the server begins to shut down: until then it may finish, as a
/// graceful stop promises; after that the client gets a 503 and the server can exit.
enum WaitingClient {
    /// Why work ended early.
    enum Ending: Sendable {
        case hungUp
        case shutdown
    }

    /// Runs `work` for a client that waits for its whole answer, as the rule says.
    /// Work that does not notice cancellation is abandoned rather than waited for; `stop`
    /// is called so it can be ended another way (a process terminated).
    /// - Parameters:
    ///   - grace: seconds in-flight work may go on after shutdown begins.
    ///   - stop: called once when the work is abandoned, with the reason.
    static func run<T: Sendable>(
        _ context: AnimaRequestContext, grace: Int, stop: @escaping @Sendable (Ending) async -> Void = { _ in },
        _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let first = FirstOutcome<T>()
        let run = Task {
            do { first.settle(.done(.success(try await work()))) } catch { first.settle(.done(.failure(error))) }
        }
        let hangUp = HangUps.shared.wait(on: context.channel) { first.settle(.ended(.hungUp)) }
        let deadline = DeadlineTask()
        defer {
            deadline.cancel()
            hangUp.cancel()
        }
        return try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                switch await first.value {
                case .done(let result):
                    return try result.get()
                case .ended(let ending):
                    run.cancel()
                    await stop(ending)
                    throw ending == .shutdown ? shutdownError(grace: grace) : CancellationError()
                }
            } onGracefulShutdown: {
                deadline.start {
                    guard (try? await Task.sleep(for: .seconds(grace))) != nil else { return }
                    first.settle(.ended(.shutdown))
                }
            }
        } onCancel: {
            first.settle(.ended(.hungUp))
        }
    }

    /// Runs a kernel request for a client that waits for its whole answer, as the rule says,
    /// in the handler's own task: `work` passes `interrupt` to `Kernel.invoke`, and a hang-up
    /// or the end of the grace period fires it, which terminates the request's process.
    /// (The handler's task is its connection's, which must not be cancelled: it still has to
    /// answer 503, or serve the connection's next request.) Saves `run`'s task per request.
    static func runInPlace<T: Sendable>(
        _ context: AnimaRequestContext, grace: Int, _ work: (RequestInterrupt) async throws -> T
    ) async throws -> T {
        let interrupt = RequestInterrupt()
        let ending = FirstEnding()
        let end: @Sendable (Ending) -> Void = { if ending.record($0) { interrupt.fire() } }
        let hangUp = HangUps.shared.wait(on: context.channel) { end(.hungUp) }
        let deadline = DeadlineTask()
        defer {
            deadline.cancel()
            hangUp.cancel()
        }
        do {
            return try await withTaskCancellationHandler {
                try await withGracefulShutdownHandler {
                    try await work(interrupt)
                } onGracefulShutdown: {
                    deadline.start {
                        guard (try? await Task.sleep(for: .seconds(grace))) != nil else { return }
                        end(.shutdown)
                    }
                }
            } onCancel: {
                end(.hungUp)
            }
        } catch {
            // Work that was ended fails as it may; the client is told why it was ended.
            switch ending.reason {
            case .shutdown?: throw shutdownError(grace: grace)
            case .hungUp?: throw CancellationError()
            case nil: throw error
            }
        }
    }

    /// What a client still waiting when the grace period ran out is told.
    static func shutdownError(grace: Int) -> APIError {
        APIError(
            .serviceUnavailable, "the server is shutting down and the answer took longer than its \(grace) s grace period; retry later",
            type: "server_error", code: "shutdown")
    }

    /// Calls `stop` once when the client hangs up or `grace` seconds after shutdown begins,
    /// for work that goes on after the handler returned (a streamed body); `finished()`
    /// on the returned watch when the work is done, so a later hang-up stops nothing.
    static func watch(_ context: AnimaRequestContext, grace: Int, stop: @escaping @Sendable (Ending) async -> Void) -> Watch {
        let watch = Watch(grace: grace, stop: stop)
        let waiter = HangUps.shared.wait(on: context.channel) { watch.end(.hungUp) }
        watch.hangUp.withLock { $0 = waiter }
        return watch
    }

    /// One piece of streamed work being watched (see `watch`).
    final class Watch: Sendable {
        private let stop: @Sendable (Ending) async -> Void
        private let grace: Int
        private let done = Mutex(false)
        fileprivate let hangUp = Mutex<HangUps.Waiter?>(nil)

        fileprivate init(grace: Int, stop: @escaping @Sendable (Ending) async -> Void) {
            self.grace = grace
            self.stop = stop
        }

        /// The work is done: nothing is stopped any more.
        func finished() {
            done.withLock { $0 = true }
            hangUp.withLock { $0 }?.cancel()
        }

        /// Runs `body` (the streaming) with the shutdown rule: `grace` seconds after shutdown
        /// begins, `stop(.shutdown)`.
        func whileStreaming<T>(_ body: () async throws -> T) async throws -> T {
            let grace = grace
            return try await withGracefulShutdownHandler {
                try await body()
            } onGracefulShutdown: { [self] in
                Task {
                    try? await Task.sleep(for: .seconds(grace))
                    end(.shutdown)
                }
            }
        }

        fileprivate func end(_ ending: Ending) {
            let first = done.withLock { done -> Bool in
                guard !done else { return false }
                done = true
                return true
            }
            guard first else { return }
            let stop = stop
            Task { await stop(ending) }
        }
    }

    /// Why work was ended, the first reason only.
    private final class FirstEnding: Sendable {
        private let first = Mutex<Ending?>(nil)

        /// Keeps `why` unless a reason came before; true when it is the first.
        func record(_ why: Ending) -> Bool {
            first.withLock { first in
                guard first == nil else { return false }
                first = why
                return true
            }
        }

        var reason: Ending? { first.withLock { $0 } }
    }

    /// The task that ends work when the grace period runs out, cancelled if the work ends first.
    private final class DeadlineTask: Sendable {
        private let task = Mutex<Task<Void, Never>?>(nil)

        func start(_ body: @escaping @Sendable () async -> Void) { task.withLock { $0 = Task { await body() } } }
        func cancel() { task.withLock { $0?.cancel() } }
    }

    private enum Outcome<T: Sendable>: Sendable {
        case done(Result<T, any Error>)
        case ended(Ending)
    }

    /// Whichever comes first of the work's result and an ending, for the one handler that
    /// waits for it; later ones are dropped.
    private final class FirstOutcome<T: Sendable>: Sendable {
        private struct State {
            var outcome: Outcome<T>?
            var waiter: CheckedContinuation<Outcome<T>, Never>?
        }
        private let state = Mutex(State())

        func settle(_ outcome: Outcome<T>) {
            let waiter = state.withLock { s -> CheckedContinuation<Outcome<T>, Never>? in
                guard s.outcome == nil else { return nil }
                s.outcome = outcome
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(returning: outcome)
        }

        var value: Outcome<T> {
            get async {
                await withCheckedContinuation { waiter in
                    let settled = state.withLock { s -> Outcome<T>? in
                        if s.outcome == nil { s.waiter = waiter }
                        return s.outcome
                    }
                    if let settled { waiter.resume(returning: settled) }
                }
            }
        }
    }
}
