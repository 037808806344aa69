import AnimaCore
import AnimaProcessor
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The HTTP side of a provider: one connection pool (AsyncHTTPClient), no redirects (a
/// key never follows a redirect to a host it was not configured for), timeouts, retries
/// with backoff, limits on what a server may send, and the mapping of HTTP failures to
/// `ProviderError`. Nothing here logs; error texts from servers are cleaned of the key.
final class ProviderTransport: Sendable {
    /// One request to the provider's API.
    struct Exchange: Sendable {
        var method: HTTPMethod = .POST
        /// Appended to the endpoint's base URL, query included.
        var path: String
        var headers: [(String, String)] = []
        var body: JSONValue?
        /// Whether the answer is a stream (sets `Accept: text/event-stream`).
        var streaming = false
    }

    /// What a provider's error body says, and what kind of failure it names when the
    /// HTTP status alone does not tell (Gemini answers a bad key with 400).
    struct FailureReading: Sendable {
        enum Kind: Sendable { case credential, model, refusal }
        var message: String
        var kind: Kind?
    }

    typealias ErrorReader = @Sendable (_ status: Int, _ body: JSONValue?) -> FailureReading

    let endpoint: ProviderEndpoint
    let credential: ProviderCredential?
    private let client: HTTPClient
    private let readError: ErrorReader

    var provider: String { endpoint.id }
    var limits: ProviderLimits { endpoint.limits }

    init(endpoint: ProviderEndpoint, credential: ProviderCredential?, readError: @escaping ErrorReader) {
        self.endpoint = endpoint
        self.credential = credential
        self.readError = readError
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        // A server on this machine accepts at once or is not running; waiting longer for
        // it only delays the failover to another processor.
        let connect = endpoint.isLoopback ? min(endpoint.limits.connectTimeout, 2) : endpoint.limits.connectTimeout
        configuration.timeout = HTTPClient.Configuration.Timeout(
            connect: Self.amount(connect), read: Self.amount(endpoint.limits.idleTimeout))
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    deinit {
        // Non-blocking: the client keeps itself alive until its connections are closed.
        client.shutdown { _ in }
    }

    private static func amount(_ seconds: Double) -> TimeAmount { .nanoseconds(Int64(seconds * 1e9)) }

    // MARK: - Requests

    /// Sends the request and returns the response once its status says success, its body
    /// not yet read. Answers 408, 429 and 5xx, and connections that fail before any
    /// answer, are tried again as the endpoint's retry policy allows.
    func open(_ exchange: Exchange, model: String) async throws -> HTTPClientResponse {
        let policy = endpoint.retry
        var attempt = 0
        while true {
            attempt += 1
            try Task.checkCancellation()
            let response: HTTPClientResponse
            do {
                response = try await client.execute(
                    makeRequest(exchange), deadline: .now() + Self.amount(limits.responseTimeout))
            } catch {
                if Task.isCancelled { throw CancellationError() }
                let failure = mapConnectionError(error, waitingFor: "the response to begin")
                if case .connectionFailed = failure, attempt < policy.maxAttempts {
                    try await sleep(policy.delay(afterAttempt: attempt, retryAfter: nil))
                    continue
                }
                throw failure
            }
            let status = Int(response.status.code)
            if (200...299).contains(status) { return response }
            let body = (try? await collect(response, limit: 64 << 10)) ?? []
            if RetryPolicy.isRetryable(status: status), attempt < policy.maxAttempts {
                let retryAfter = RetryPolicy.retryAfter(
                    milliseconds: response.headers.first(name: "retry-after-ms"), header: response.headers.first(name: "retry-after"))
                try await sleep(policy.delay(afterAttempt: attempt, retryAfter: retryAfter))
                continue
            }
            throw failure(status: status, body: body, headers: response.headers, attempts: attempt, model: model)
        }
    }

    /// Sends the request and returns its whole JSON answer.
    func json(_ exchange: Exchange, model: String) async throws -> JSONValue {
        let response = try await open(exchange, model: model)
        let body = try await collect(response, limit: limits.maxResponseBytes)
        do {
            return try JSONValue(parsing: String(decoding: body, as: UTF8.self))
        } catch {
            throw ProviderError.malformedResponse(provider: provider, reason: "the answer is not JSON (\(error))")
        }
    }

    private func makeRequest(_ exchange: Exchange) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: endpoint.url(exchange.path))
        request.method = exchange.method
        for (name, value) in exchange.headers { request.headers.add(name: name, value: value) }
        if exchange.streaming { request.headers.add(name: "Accept", value: "text/event-stream") }
        if let body = exchange.body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body.jsonText))
        }
        return request
    }

    private func sleep(_ seconds: Double) async throws {
        try await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1e9))
    }

    // MARK: - Bodies

    /// Reads a whole body, refusing more than `limit` bytes.
    func collect(_ response: HTTPClientResponse, limit: Int) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        do {
            for try await buffer in response.body {
                guard bytes.count + buffer.readableBytes <= limit else {
                    throw ProviderError.oversizedResponse(provider: provider, limit: limit)
                }
                bytes.append(contentsOf: buffer.readableBytesView)
            }
        } catch let error as ProviderError {
            throw error
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw mapStreamError(error)
        }
        return bytes
    }

    /// Reads a `text/event-stream` body, handing each event to `handle` as it completes.
    /// `handle` returns true when the event completed the answer (the provider's
    /// end-of-answer marker); a stream that ends before that is reported as truncated.
    /// Reading stops at the marker unless `readsToEnd` (for providers whose last events
    /// may follow it).
    func forEachEvent(
        of response: HTTPClientResponse, readsToEnd: Bool = false, _ handle: (ServerSentEvent) throws -> Bool
    ) async throws {
        var parser = ServerSentEventParser(maxEventBytes: limits.maxEventBytes)
        var finished = false
        try await forEachChunk(of: response) { chunk in
            for event in try parser.feed(chunk.readableBytesView) where readsToEnd || !finished {
                if try handle(event) { finished = true }
            }
            return finished && !readsToEnd
        }
        guard finished else {
            throw ProviderError.truncatedStream(
                provider: provider,
                detail: parser.hasPartialEvent ? "it stopped in the middle of an event" : "no end-of-answer event arrived")
        }
    }

    /// Reads a newline-delimited JSON body line by line; see `forEachEvent`.
    func forEachLine(of response: HTTPClientResponse, _ handle: (String) throws -> Bool) async throws {
        var parser = JSONLinesParser(maxLineBytes: limits.maxEventBytes)
        var finished = false
        try await forEachChunk(of: response) { chunk in
            for line in try parser.feed(chunk.readableBytesView) where !finished {
                if try handle(line) { finished = true }
            }
            return finished
        }
        if !finished, let last = parser.finish() { finished = try handle(last) }
        guard finished else {
            throw ProviderError.truncatedStream(provider: provider, detail: "no final line with \"done\": true arrived")
        }
    }

    private func forEachChunk(of response: HTTPClientResponse, _ handle: (ByteBuffer) throws -> Bool) async throws {
        var total = 0
        do {
            for try await chunk in response.body {
                total += chunk.readableBytes
                guard total <= limits.maxResponseBytes else {
                    throw ProviderError.oversizedResponse(provider: provider, limit: limits.maxResponseBytes)
                }
                // Stop reading once the answer is complete; leaving the loop cancels the rest.
                if try handle(chunk) { return }
            }
        } catch let error as ProviderError {
            throw error
        } catch let error as StreamFramingError {
            guard case .recordTooLarge(let limit) = error else { throw error }
            throw ProviderError.oversizedResponse(provider: provider, limit: limit)
        } catch {
            if Task.isCancelled || error is CancellationError { throw CancellationError() }
            throw mapStreamError(error)
        }
    }

    // MARK: - Failures

    /// `text` cleaned of the key, on one line, and short enough for a message.
    func clean(_ text: String) -> String {
        var out = credential?.redact(text) ?? text
        out = out.split(whereSeparator: \.isNewline).joined(separator: " ")
        if out.count > 300 { out = String(out.prefix(300)) + "…" }
        return out
    }

    private func failure(status: Int, body: [UInt8], headers: HTTPHeaders, attempts: Int, model: String) -> ProviderError {
        let text = String(decoding: body, as: UTF8.self)
        let json = try? JSONValue(parsing: text)
        var reading = readError(status, json)
        if reading.message.isEmpty {
            reading.message = json == nil ? text.trimmingCharacters(in: .whitespacesAndNewlines) : ""
        }
        let detail = clean(reading.message)
        switch (status, reading.kind) {
        case (300...399, _):
            return .redirectRefused(provider: provider, status: status, location: clean(headers.first(name: "location") ?? ""))
        case (_, .credential?), (401, _), (403, _):
            return .badCredential(provider: provider, status: status, detail: detail)
        case (_, .model?), (404, _):
            return .unknownModel(provider: provider, model: model, detail: detail)
        case (_, .refusal?):
            return .refused(provider: provider, reason: detail.isEmpty ? "HTTP \(status)" : detail)
        case (429, _):
            return .rateLimited(provider: provider, attempts: attempts, detail: detail)
        case (500...599, _):
            return .serverFailure(provider: provider, status: status, attempts: attempts, detail: detail)
        default:
            return .rejectedRequest(provider: provider, status: status, detail: detail)
        }
    }

    private func mapConnectionError(_ error: any Error, waitingFor: String) -> ProviderError {
        if let error = error as? HTTPClientError {
            if error == .deadlineExceeded {
                return .timedOut(provider: provider, waitingFor: waitingFor, seconds: limits.responseTimeout)
            }
            if error == .readTimeout {
                return .timedOut(provider: provider, waitingFor: waitingFor, seconds: limits.idleTimeout)
            }
            if error == .connectTimeout {
                return .connectionFailed(
                    provider: provider, url: endpoint.baseURL, reason: "no connection within \(limits.connectTimeout) s")
            }
        }
        return .connectionFailed(provider: provider, url: endpoint.baseURL, reason: clean(String(describing: error)))
    }

    private func mapStreamError(_ error: any Error) -> ProviderError {
        if let error = error as? HTTPClientError, error == .readTimeout {
            return .timedOut(provider: provider, waitingFor: "more of the stream", seconds: limits.idleTimeout)
        }
        return .truncatedStream(provider: provider, detail: "the connection failed: \(clean(String(describing: error)))")
    }
}
