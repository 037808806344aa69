import Synchronization

/// Ends a request (`Kernel.invoke`) from outside the task that waits for it: its client hung
/// up, or the server's grace period ran out. `fire` terminates the request's process, at once
/// when it starts if `fire` came first; after the request ended it does nothing.
public final class RequestInterrupt: Sendable {
    private enum State {
        case waiting((@Sendable () -> Void)?)
        case fired
    }

    private let state = Mutex(State.waiting(nil))

    public init() {}

    /// Ends the request; only the first call counts.
    public func fire() {
        let end = state.withLock { s -> (@Sendable () -> Void)? in
            guard case .waiting(let end) = s else { return nil }
            s = .fired
            return end
        }
        end?()
    }

    var hasFired: Bool { state.withLock { if case .fired = $0 { true } else { false } } }

    /// Gives the way to end the running request; false if `fire` already came.
    func arm(_ end: @escaping @Sendable () -> Void) -> Bool {
        state.withLock { s in
            guard case .waiting = s else { return false }
            s = .waiting(end)
            return true
        }
    }

    /// The request ended: nothing is left to end.
    func disarm() {
        state.withLock { s in if case .waiting = s { s = .waiting(nil) } }
    }
}
