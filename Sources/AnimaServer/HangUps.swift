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

    private struct Connection {
        /// Held until the close future's callback runs, so that no other channel can have
        /// this one's identity while its entry exists.
        let channel: any Channel
        var waiters: [UInt64: @Sendable () -> Void] = [:]
    }

    private struct State {
        /// Each open connection that has had a waiter; its entry goes when it closes.
        var connections: [ObjectIdentifier: Connection] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Calls `hungUp` once when `channel` closes (at once if it has), unless the waiter is
    /// cancelled first.
    func wait(on channel: any Channel, _ hungUp: @escaping @Sendable () -> Void) -> Waiter {
        let connection = ObjectIdentifier(channel)
        let (id, first) = state.withLock { s in
            s.nextID += 1
            let first = s.connections[connection] == nil
            s.connections[connection, default: Connection(channel: channel)].waiters[s.nextID] = hungUp
            return (s.nextID, first)
        }
        if first {
            channel.closeFuture.whenComplete { [self] _ in
                let waiting = state.withLock { $0.connections.removeValue(forKey: connection) }?.waiters ?? [:]
                for callback in waiting.values { callback() }
            }
        }
        return Waiter(connection: connection, id: id, registry: self)
    }

    fileprivate func remove(_ waiter: Waiter) {
        state.withLock { _ = $0.connections[waiter.connection]?.waiters.removeValue(forKey: waiter.id) }
    }

    /// How many waiters the connections have, and how many connections (for tests).
    var counts: (waiters: Int, connections: Int) {
        state.withLock { s in (s.connections.values.reduce(0) { $0 + $1.waiters.count }, s.connections.count) }
    }
}
