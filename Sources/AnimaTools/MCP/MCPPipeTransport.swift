import AnimaCore
import Foundation
import Logging
import MCP

#if canImport(Glibc)
import Glibc
#endif

/// The MCP SDK's `Transport` over an MCP server's stdin and stdout, made for servers that
/// misbehave.
///
/// The SDK's stdio transport rescans everything it has buffered on every read and never
/// limits it, and it ends its stream without an error when the server exits, after which
/// the SDK's client loops on the finished stream at full speed. So a server that exits at
/// once, floods output or never answers kept `anima tools` busy for minutes. Here a
/// dedicated thread reads with `poll`, each message (one line) is capped at
/// `maxMessageBytes`, and the end of the server's output, an oversized message or an answer
/// to a request nobody sent ends the stream with an error and is kept in `ending`, which
/// `MCPDriver` watches so it stops waiting at once.
actor MCPPipeTransport: Transport {
    /// The longest message a server may send, in bytes.
    static let maxMessageBytes = 16 << 20

    /// Why a server's stream ended.
    enum Ending: Error, CustomStringConvertible, Equatable {
        case closed
        case messageTooLong(Int)
        case unknownAnswer(String)
        case readFailed(Int32)
        case disconnected

        var description: String {
            switch self {
            case .closed: "the server closed its output (it exited or crashed)"
            case .messageTooLong(let limit):
                "the server sent a message over \(limit >> 20) MiB (or output with no line break); Anima stopped reading it"
            case .unknownAnswer(let id): "the server answered a request Anima never sent (id \(id)), so it does not speak MCP correctly"
            case .readFailed(let code): "reading the server's output failed: \(String(cString: strerror(code)))"
            case .disconnected: "Anima disconnected from the server"
            }
        }
    }

    nonisolated let logger = Logger(label: "anima.mcp.pipe", factory: { _ in SwiftLogNoOpLogHandler() })
    private let reader: PipeReader
    private var output: Int32
    private let stream: AsyncThrowingStream<Data, any Swift.Error>
    private let continuation: AsyncThrowingStream<Data, any Swift.Error>.Continuation
    private var started = false
    /// Why the stream ended, once it has.
    private(set) var ending: Ending?

    /// - Parameters:
    ///   - reading: the server's stdout; duplicated, so the caller keeps its own.
    ///   - writing: the server's stdin; duplicated likewise.
    init(reading: Int32, writing: Int32) {
        (stream, continuation) = AsyncThrowingStream.makeStream()
        reader = PipeReader(fd: dup(reading))
        output = dup(writing)
        if output >= 0 { _ = fcntl(output, F_SETFL, fcntl(output, F_GETFL) | O_NONBLOCK) }
    }

    func connect() async throws {
        guard !started else { return }
        started = true
        reader.start(
            deliver: { [continuation] message in continuation.yield(message) },
            end: { [weak self] ending in
                Task { await self?.end(ending) }
            })
    }

    func disconnect() async {
        end(.disconnected)
        reader.stop()
        if output >= 0 {
            close(output)
            output = -1
        }
    }

    func send(_ data: Data) async throws {
        if let id = Self.requestID(in: data) { reader.expect(id) }
        var remaining = data + [UInt8(ascii: "\n")]
        while !remaining.isEmpty {
            if let ending { throw ending }
            guard output >= 0 else { throw Ending.disconnected }
            let written = remaining.withUnsafeBytes { Glibc.write(output, $0.baseAddress, $0.count) }
            if written > 0 {
                remaining = remaining.dropFirst(written)
            } else if written < 0, errno == EAGAIN || errno == EINTR {
                try await Task.sleep(for: .milliseconds(5))  // the server is not reading; the driver's deadline bounds this
            } else {
                throw written < 0 && errno == EPIPE ? Ending.closed : Ending.readFailed(errno)
            }
        }
    }

    func receive() -> AsyncThrowingStream<Data, any Swift.Error> { stream }

    private func end(_ reason: Ending) {
        guard ending == nil else { return }
        ending = reason
        // Always with an error: the SDK's client loops at full speed on a stream that just finishes.
        continuation.finish(throwing: reason)
    }

    /// The `id` of a JSON-RPC request Anima sends, as text.
    static func requestID(in data: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], object["method"] != nil, let id = object["id"]
        else { return nil }
        return "\(id)"
    }

    /// The `id` of a JSON-RPC answer, when `data` is one (small enough to look at).
    static func answerID(in data: Data) -> String? {
        guard data.count <= 1 << 20, let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            object["method"] == nil, object["result"] != nil || object["error"] != nil, let id = object["id"], !(id is NSNull)
        else { return nil }
        return "\(id)"
    }
}

/// Reads one pipe on a thread of its own, splitting it into lines; owns the descriptor
/// and closes it when the thread ends.
private final class PipeReader: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private var stopped = false
    private var sent: Set<String> = []

    init(fd: Int32) { self.fd = fd }

    func stop() {
        lock.withLock { stopped = true }
    }

    /// Remembers a request id, so that its answer is expected.
    func expect(_ id: String) {
        lock.withLock { _ = sent.insert(id) }
    }

    func start(deliver: @escaping @Sendable (Data) -> Void, end: @escaping @Sendable (MCPPipeTransport.Ending) -> Void) {
        DedicatedThread.detach(name: "anima.mcp.pipe") { [self] in
            end(run(deliver))
            close(fd)
        }
    }

    private func run(_ deliver: (Data) -> Void) -> MCPPipeTransport.Ending {
        guard fd >= 0 else { return .readFailed(EBADF) }
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            if lock.withLock({ stopped }) { return .disconnected }
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 1, 100)
            if ready < 0 && errno != EINTR { return .readFailed(errno) }
            guard ready > 0 else { continue }
            let n = read(fd, &chunk, chunk.count)
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                return .readFailed(errno)
            }
            if n == 0 { return .closed }
            // Only the new bytes are scanned for line breaks, so a flood costs linear time.
            var start = 0
            for index in 0..<n where chunk[index] == UInt8(ascii: "\n") {
                pending += chunk[start..<index]
                start = index + 1
                guard pending.count <= MCPPipeTransport.maxMessageBytes else { return .messageTooLong(MCPPipeTransport.maxMessageBytes) }
                if !pending.isEmpty {
                    let message = Data(pending)
                    pending.removeAll(keepingCapacity: true)
                    if let id = MCPPipeTransport.answerID(in: message), !lock.withLock({ sent.contains(id) }) {
                        return .unknownAnswer(id)
                    }
                    deliver(message)
                }
            }
            pending += chunk[start..<n]
            guard pending.count <= MCPPipeTransport.maxMessageBytes else { return .messageTooLong(MCPPipeTransport.maxMessageBytes) }
        }
    }
}
