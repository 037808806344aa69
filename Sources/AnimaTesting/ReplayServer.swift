import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A local HTTP server that stands in for a remote provider: it answers the requests it
/// receives with recorded exchanges, in order, and remembers what it received and every
/// way a request differed from the recording.
///
/// A request that does not match its recording gets a 400 answer whose body says why
/// (so the client fails clearly), and the reason is kept in `mismatches` for the test.
/// With `cycling`, the exchanges repeat forever (for benchmarks).
public final class ReplayServer: Sendable {
    private struct State {
        var exchanges: [ReplayExchange]
        var next = 0
        var received: [ReceivedRequest] = []
        var mismatches: [String] = []
        var connections = 0
    }

    private let state: Mutex<State>
    private let cycling: Bool
    private let channel: Mutex<(any Channel)?> = Mutex(nil)
    public let port: Int

    /// Starts a server on 127.0.0.1 at a free port.
    public static func start(_ exchanges: [ReplayExchange], cycling: Bool = false) async throws -> ReplayServer {
        let box = Mutex<ReplayServer?>(nil)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let server = box.withLock({ $0 }) else { throw ChannelError.ioOnClosedChannel }
                    server.state.withLock { $0.connections += 1 }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(ReplayHandler(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let server = ReplayServer(exchanges: exchanges, cycling: cycling, port: channel.localAddress?.port ?? 0)
        server.channel.withLock { $0 = channel }
        box.withLock { $0 = server }
        return server
    }

    private init(exchanges: [ReplayExchange], cycling: Bool, port: Int) {
        state = Mutex(State(exchanges: exchanges))
        self.cycling = cycling
        self.port = port
    }

    /// `http://127.0.0.1:<port>`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Every request received, oldest first.
    public var received: [ReceivedRequest] { state.withLock { $0.received } }

    /// How each mismatching request differed from its recording.
    public var mismatches: [String] { state.withLock { $0.mismatches } }

    /// Recorded exchanges not yet played.
    public var remaining: Int { state.withLock { cycling ? 0 : $0.exchanges.count - $0.next } }

    /// Connections accepted so far.
    public var connections: Int { state.withLock { $0.connections } }

    public func stop() async {
        let channel = self.channel.withLock { c in
            defer { c = nil }; return c
        }
        try? await channel?.close()
    }

    /// The response for a received request, and records it.
    fileprivate func respond(to request: ReceivedRequest) -> ReplayExchange.RecordedResponse {
        state.withLock { s in
            s.received.append(request)
            guard s.next < s.exchanges.count else {
                s.mismatches.append("request \(s.received.count) (\(request.method) \(request.path)) came after the recording ended")
                return Self.failure("no recorded exchange is left", status: 410)
            }
            let exchange = s.exchanges[s.next]
            s.next += 1
            if cycling, s.next == s.exchanges.count { s.next = 0 }
            if let problem = request.mismatch(against: exchange.request) {
                s.mismatches.append("request \(s.received.count): \(problem)")
                return Self.failure("replay mismatch: \(problem)", status: 400)
            }
            return exchange.response
        }
    }

    private static func failure(_ message: String, status: Int) -> ReplayExchange.RecordedResponse {
        var escaped = ""
        for scalar in message.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case _ where scalar.value < 0x20: escaped += " "
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return .init(
            status: status, reason: "Replay Mismatch", headers: [("Content-Type", "application/json")],
            body: Array("{\"error\":{\"message\":\"\(escaped)\",\"type\":\"replay_mismatch\"}}".utf8))
    }
}

/// Collects one request at a time and plays back its response, write by write.
private final class ReplayHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: ReplayServer
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(server: ReplayServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
        case .body(let buffer):
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            guard let head else { return }
            self.head = nil
            let request = ReceivedRequest(
                method: head.method.rawValue, path: head.uri, headers: head.headers.map { ($0.name, $0.value) }, body: body)
            play(server.respond(to: request), context: context, keepAlive: head.isKeepAlive)
        }
    }

    private func play(_ response: ReplayExchange.RecordedResponse, context: ChannelHandlerContext, keepAlive: Bool) {
        var headers = HTTPHeaders(response.headers.map { ($0.name, $0.value) })
        let streamed = response.chunking != .whole || response.cutAfter != nil || response.stallAfter != nil
        if streamed {
            headers.replaceOrAdd(name: "Transfer-Encoding", value: "chunked")
        } else {
            headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
        }
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status, reasonPhrase: response.reason)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)

        // The writes, cut short where the response is to be cut or stalled.
        var chunks: [ArraySlice<UInt8>] = []
        var budget = response.cutAfter ?? response.stallAfter ?? Int.max
        for chunk in response.chunks where budget > 0 {
            chunks.append(chunk.prefix(budget))
            budget -= min(budget, chunk.count)
        }
        func finish() {
            if response.cutAfter != nil {
                context.flush()
                context.close(promise: nil)
            } else if response.stallAfter != nil {
                context.flush()
            } else {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                if !keepAlive { context.close(promise: nil) }
            }
        }
        func write(_ chunk: ArraySlice<UInt8>) {
            var buffer = context.channel.allocator.buffer(capacity: chunk.count)
            buffer.writeBytes(chunk)
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        guard response.delayMilliseconds > 0 else {
            for chunk in chunks { write(chunk) }
            finish()
            return
        }
        let loop = context.eventLoop.assumeIsolated()
        let delay = TimeAmount.milliseconds(Int64(response.delayMilliseconds))
        var index = 0
        func writeNext() {
            guard index < chunks.count else { return finish() }
            write(chunks[index])
            index += 1
            loop.scheduleTask(in: delay) { writeNext() }
        }
        writeNext()
    }
}
