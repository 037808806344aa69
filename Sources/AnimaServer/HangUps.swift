import NIOCore
import Synchronization

/// Who waits to hear that a client's connection closed.
///
/// NIO keeps every callback given to a channel's close future until the channel closes,
/// and one given from off the channel's event loop costs a hop onto it. A callback per
/// request would pile up on a kept-alive connection for as long as it stays open (a client
/// that sends a million requests on one connection holds a million of them) and would add a
/// thread hand-off to every request. So each connection gets one callback, when its first
/// request asks, and a request's waiter leaves when the request ends.
final class HangUps: Sendable {
    static let shared = HangUps()

    /// A request's place among its connection's waiters; `cancel()` when the request ends.
    struct Waiter: Sendable {
        fileprivate let connection: ObjectIdentifier
        fileprivate let id: UInt64
        fileprivate let registry: HangUps

        func cancel() { registry.remove(self) }
    }

    private struct State {
        /// The waiters of each open connection that has had one; a connection's entry goes
        /// when it closes.
        var waiters: [ObjectIdentifier: [UInt64: @Sendable () -> Void]] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Calls `hungUp` once when `channel` closes (at once if it has), unless the waiter is
    /// cancelled first.
    func wait(on channel: any Channel, _ hungUp: @escaping @Sendable () -> Void) -> Waiter {
        let connection = ObjectIdentifier(channel)
        let (id, first) = state.withLock { s in
            s.nextID += 1
            let first = s.waiters[connection] == nil
            s.waiters[connection, default: [:]][s.nextID] = hungUp
            return (s.nextID, first)
        }
        if first {
            // The entry exists until this runs, so a later channel at the same address (only
            // after this one is gone) finds none and registers its own.
            channel.closeFuture.whenComplete { [self] _ in
                let waiting = state.withLock { $0.waiters.removeValue(forKey: connection) } ?? [:]
                for callback in waiting.values { callback() }
            }
        }
        return Waiter(connection: connection, id: id, registry: self)
    }

    fileprivate func remove(_ waiter: Waiter) {
        state.withLock { _ = $0.waiters[waiter.connection]?.removeValue(forKey: waiter.id) }
    }

    /// How many waiters the connections have, and how many connections (for tests).
    var counts: (waiters: Int, connections: Int) {
        state.withLock { s in (s.waiters.values.reduce(0) { $0 + $1.count }, s.waiters.count) }
    }
}
