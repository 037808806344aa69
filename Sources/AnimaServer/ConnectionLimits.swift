import NIOCore
import NIOHTTP1
import Synchronization

/// The daemon's limits on connections, against clients that hold them open without
/// using them (slowloris): how many may be open at once, and how long each request may
/// take to send its header — the first from when the connection opens, a later one on a
/// keep-alive connection from its first byte.
///
/// Idle keep-alive connections (no bytes at all) are closed by Hummingbird's idle timeout
/// (`ServerConfiguration.idleTimeout`).
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

/// Closes its connection when the daemon already holds `maxConnections`, when a request's
/// header is not complete `headerTimeout` after the connection opened (the first request)
/// or after its first byte arrived (each later one), or when the client hangs up.
///
/// It sits after Hummingbird's HTTP handlers, and puts two watchers around the HTTP
/// decoder: one sees a request's first bytes, the other its decoded head and end.
final class ConnectionLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Any

    private let limits: ConnectionLimits
    private var admitted = false
    private var started = false
    private var headerDeadline: Scheduled<Void>?
    /// Between requests: the next bytes begin a request whose header must come in time.
    private var awaitingHead = true
    /// Whether the watchers are in place; without them the first read ends the deadline.
    private var watching = false

    init(limits: ConnectionLimits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        if let decoder = try? pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self) {
            do {
                try pipeline.addHandler(RequestBytesWatcher(owner: self), position: .before(decoder))
                try pipeline.addHandler(RequestHeadWatcher(owner: self), position: .after(decoder))
                watching = true
            } catch {
                watching = false
            }
        }
        if context.channel.isActive { start(context) }
    }

    /// Bytes arrived (before decoding): if they begin a request, its header is now due.
    fileprivate func bytesArrived(_ context: ChannelHandlerContext) {
        guard awaitingHead, headerDeadline == nil, admitted else { return }
        let channel = context.channel
        headerDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: limits.headerTimeout) {
            channel.close(promise: nil)
        }
    }

    /// A whole request header was decoded: it came in time.
    fileprivate func headArrived() {
        awaitingHead = false
        headerDeadline?.cancel()
        headerDeadline = nil
    }

    /// A request ended: the next bytes begin the next one.
    fileprivate func requestEnded() {
        awaitingHead = true
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
        if !watching { headArrived() }
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

/// Before the HTTP decoder: tells the `ConnectionLimitHandler` that bytes arrived.
private final class RequestBytesWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let owner: ConnectionLimitHandler

    init(owner: ConnectionLimitHandler) { self.owner = owner }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        owner.bytesArrived(context)
        context.fireChannelRead(data)
    }
}

/// After the HTTP decoder: tells the `ConnectionLimitHandler` where each request's head
/// and end are, as they are decoded (before pipelined requests are held back).
private final class RequestHeadWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    private let owner: ConnectionLimitHandler

    init(owner: ConnectionLimitHandler) { self.owner = owner }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: owner.headArrived()
        case .end: owner.requestEnded()
        case .body: break
        }
        context.fireChannelRead(data)
    }
}
