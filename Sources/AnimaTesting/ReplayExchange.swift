import Foundation

/// One recorded exchange with a provider: the request Anima must send, and the response
/// the server plays back.
public struct ReplayExchange: Sendable {
    /// What the request must be. Only what is given is checked.
    public struct ExpectedRequest: Sendable {
        public var method: String
        /// Path and query, as sent on the request line.
        public var path: String
        /// Headers that must be present with exactly this value (names are case-insensitive).
        public var headers: [(name: String, value: String)]
        /// Headers that must not be present at all.
        public var absentHeaders: [String]
        /// The exact body, or nil to accept any.
        public var body: String?

        public init(
            method: String, path: String, headers: [(name: String, value: String)] = [], absentHeaders: [String] = [], body: String? = nil
        ) {
            self.method = method
            self.path = path
            self.headers = headers
            self.absentHeaders = absentHeaders
            self.body = body
        }
    }

    /// How the body is split into writes.
    public enum Chunking: Sendable, Hashable {
        /// One write, with a Content-Length.
        case whole
        /// One write per server-sent event (up to each blank line), chunked encoding.
        case events
        /// One write per line, chunked encoding.
        case lines
        /// Writes of this many bytes, chunked encoding.
        case bytes(Int)
    }

    /// The response to play back.
    public struct RecordedResponse: Sendable {
        public var status: Int
        public var reason: String
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]
        public var chunking: Chunking
        /// Milliseconds between writes.
        public var delayMilliseconds: Int
        /// Close the connection after this many body bytes, without ending the response.
        public var cutAfter: Int?
        /// Stop sending after this many body bytes, and keep the connection open.
        public var stallAfter: Int?

        public init(
            status: Int, reason: String = "", headers: [(name: String, value: String)] = [], body: [UInt8] = [],
            chunking: Chunking = .whole, delayMilliseconds: Int = 0, cutAfter: Int? = nil, stallAfter: Int? = nil
        ) {
            self.status = status
            self.reason = reason
            self.headers = headers
            self.body = body
            self.chunking = chunking
            self.delayMilliseconds = delayMilliseconds
            self.cutAfter = cutAfter
            self.stallAfter = stallAfter
        }

        /// The body split into the writes `chunking` asks for.
        var chunks: [ArraySlice<UInt8>] {
            switch chunking {
            case .whole:
                return body.isEmpty ? [] : [body[...]]
            case .bytes(let size):
                return stride(from: 0, to: body.count, by: max(1, size)).map { body[$0..<min($0 + max(1, size), body.count)] }
            case .lines, .events:
                var out: [ArraySlice<UInt8>] = []
                var start = 0
                var i = 0
                while i < body.count {
                    let endsLine = body[i] == 0x0A
                    let endsEvent = endsLine && i > 0 && body[i - 1] == 0x0A
                    if chunking == .lines ? endsLine : endsEvent {
                        out.append(body[start...i])
                        start = i + 1
                    }
                    i += 1
                }
                if start < body.count { out.append(body[start...]) }
                return out
            }
        }
    }

    public var request: ExpectedRequest
    public var response: RecordedResponse

    public init(request: ExpectedRequest, response: RecordedResponse) {
        self.request = request
        self.response = response
    }
}

/// What the server received, for tests to inspect.
public struct ReceivedRequest: Sendable {
    public var method: String
    public var path: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Why this request is not the expected one, or nil when it is.
    func mismatch(against expected: ReplayExchange.ExpectedRequest) -> String? {
        if method != expected.method || path != expected.path {
            return "expected \(expected.method) \(expected.path), got \(method) \(path)"
        }
        for (name, value) in expected.headers where header(name) != value {
            return "header \(name): expected \"\(value)\", got \(header(name).map { "\"\($0)\"" } ?? "none")"
        }
        for name in expected.absentHeaders where header(name) != nil {
            return "header \(name) must not be sent, but was"
        }
        if let body = expected.body, body.utf8.elementsEqual(self.body) == false {
            let want = Array(body.utf8)
            let offset =
                zip(want, self.body).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(want.count, self.body.count)
            let around = { (bytes: [UInt8]) in String(decoding: bytes[max(0, offset - 40)..<min(bytes.count, offset + 40)], as: UTF8.self) }
            return "body differs at byte \(offset): expected …\(around(want))…, got …\(around(self.body))…"
        }
        return nil
    }
}

extension ReplayExchange {
    /// An OpenAI-compatible chat completion streamed as server-sent events: a chunk per
    /// piece of text (the last one finishing with `stop`), a usage chunk, then `[DONE]`.
    public static func openAIChatStream(_ pieces: [String], promptTokens: Int, completionTokens: Int) throws -> ReplayExchange {
        var events: [String] = []
        for (i, piece) in pieces.enumerated() {
            var delta: [String: String] = ["content": piece]
            if i == 0 { delta["role"] = "assistant" }
            let finish: Any = i == pieces.count - 1 ? "stop" : NSNull()
            events.append(try json(["choices": [["index": 0, "delta": delta, "finish_reason": finish]]]))
        }
        events.append(
            try json([
                "choices": [Any](),
                "usage": [
                    "prompt_tokens": promptTokens, "completion_tokens": completionTokens, "total_tokens": promptTokens + completionTokens,
                ],
            ]))
        events.append("[DONE]")
        let body = events.map { "data: \($0)\n\n" }.joined()
        return ReplayExchange(
            request: .init(method: "POST", path: "/v1/chat/completions"),
            response: .init(status: 200, headers: [("Content-Type", "text/event-stream")], body: Array(body.utf8), chunking: .events))
    }

    private static func json(_ object: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}
