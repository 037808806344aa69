import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import AnimaServer

/// A connection's hang-up reaches the requests still waiting on it, once; requests that
/// ended leave nothing behind, however many a kept-alive connection carries.
@Suite struct HangUpsTests {
    final class Count: Sendable {
        let value = Mutex(0)
        func add() { value.withLock { $0 += 1 } }
        var now: Int { value.withLock { $0 } }
    }

    /// Closes `channel` and runs what its event loop has queued (the close future's callbacks).
    func close(_ channel: EmbeddedChannel) async throws {
        channel.embeddedEventLoop.run()
        _ = try await channel.close()
        channel.embeddedEventLoop.run()
    }

    @Test func aKeptAliveConnectionHoldsOnlyTheRequestsInFlight() async throws {
        let hangUps = HangUps()
        let channel = EmbeddedChannel()
        let heard = Count()
        for _ in 0..<10_000 { hangUps.wait(on: channel) { heard.add() }.cancel() }
        #expect(hangUps.counts.waiters == 0)
        #expect(hangUps.counts.connections == 1)
        let inFlight = [hangUps.wait(on: channel) { heard.add() }, hangUps.wait(on: channel) { heard.add() }]
        #expect(hangUps.counts.waiters == 2)
        try await close(channel)
        #expect(heard.now == 2, "only the requests still waiting hear the hang-up")
        #expect(hangUps.counts.connections == 0)
        for waiter in inFlight { waiter.cancel() }  // after the hang-up: nothing to do, nothing breaks
        #expect(heard.now == 2)
    }

    @Test func aRequestOnAConnectionAlreadyClosedHearsAtOnce() async throws {
        let hangUps = HangUps()
        let channel = EmbeddedChannel()
        try await close(channel)
        let heard = Count()
        _ = hangUps.wait(on: channel) { heard.add() }
        channel.embeddedEventLoop.run()
        #expect(heard.now == 1)
        #expect(hangUps.counts.connections == 0)
    }

    @Test func connectionsAreApart() async throws {
        let hangUps = HangUps()
        let (a, b) = (EmbeddedChannel(), EmbeddedChannel())
        let (heardA, heardB) = (Count(), Count())
        _ = hangUps.wait(on: a) { heardA.add() }
        let onB = hangUps.wait(on: b) { heardB.add() }
        try await close(a)
        #expect(heardA.now == 1 && heardB.now == 0)
        #expect(hangUps.counts.connections == 1)
        onB.cancel()
        try await close(b)
        #expect(heardB.now == 0)
        #expect(hangUps.counts.connections == 0)
    }
}
