import NIOCore
import Synchronization

/// The daemon's limits on connections, against clients that hold them open without
/// using them (slowloris): how many may be open at once, and how long a new connection
/// may take to send its first request's header.
///
/// Idle keep-alive connections are closed by Hummingbird's idle timeout
/// (`ServerConfiguration.idleTimeout`), which also ends a later request whose header
/// never completes.
final class ConnectionLimits: Sendable {
    let maxConnections: Int
    let headerTimeout: TimeAmount
    private let open = Atomic<Int>(0)

    init(maxConnections: Int, headerTimeout: TimeAmount) {
        self.maxConnections = maxConnections
        self.headerTimeout = headerTimeout
    }

    /// Connections open now.
    var openConnections: Int { open.load(ordering: .relaxed) }

    /// A handler for one new connection's pipeline (after the HTTP decoder).
    func handler() -> ConnectionLimitHandler { ConnectionLimitHandler(limits: self) }

    /// Counts a connection in; false (counting nothing) when the limit is reached.
    fileprivate func admit() -> Bool {
        let now = open.wrappingAdd(1, ordering: .relaxed).newValue
        guard now <= maxConnections else {
            open.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    fileprivate func release() { open.wrappingSubtract(1, ordering: .relaxed) }
}

/// Closes its connection when the daemon already holds `maxConnections`, when no
/// complete request header has arrived `headerTimeout` after it opened, or when the
/// client hangs up. It sits after
/// the HTTP decoder, so the first part it reads is a whole request head.
final class ConnectionLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Any

    private let limits: ConnectionLimits
    private var admitted = false
    private var started = false
    private var headerDeadline: Scheduled<Void>?

    init(limits: ConnectionLimits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        guard limits.admit() else {
            context.close(promise: nil)
            return
        }
        admitted = true
        headerDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: limits.headerTimeout) {
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        headerDeadline?.cancel()
        headerDeadline = nil
        context.fireChannelRead(data)
    }

    /// The client closed its side: it has left (HTTP clients do not half-close to wait for
    /// an answer), so the connection closes and a generation running for it stops.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    private func stop() {
        headerDeadline?.cancel()
        headerDeadline = nil
        if admitted {
            admitted = false
            limits.release()
        }
    }
}
