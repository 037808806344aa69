import Foundation

/// A fixture file of recorded exchanges, written like raw HTTP:
///
/// ```
/// # Source: https://… (comment lines before the first marker)
/// ### request
/// POST /v1/chat/completions
/// Authorization: Bearer $KEY
/// !x-api-key
///
/// {"model":"gpt-4o-mini",...}
/// ### response
/// HTTP/1.1 200 OK
/// Content-Type: text/event-stream
/// X-Replay-Chunking: events
///
/// data: {...}
///
/// data: [DONE]
///
/// ```
///
/// A request lists the headers it must carry (`!name` for one it must not), then after
/// a blank line the exact body it must have, if any. A response's body is played back
/// byte for byte: everything after its blank line up to the next `### ` marker. Headers
/// named `X-Replay-…` steer the playback and are not sent: `Chunking` (`whole`,
/// `events`, `lines`, `bytes=N`), `Delay-Ms`, `Cut-After` (close the connection after N
/// body bytes), `Stall-After` (stop sending after N body bytes), `Line-Endings: crlf`
/// (send the body's line feeds as CR LF). `$NAME` is replaced by
/// the substitution of that name, everywhere.
public enum ReplayScript {
    public enum LoadError: Error, CustomStringConvertible {
        case unreadable(String)
        case malformed(file: String, reason: String)

        public var description: String {
            switch self {
            case .unreadable(let path): "cannot read the fixture \(path)"
            case .malformed(let file, let reason): "the fixture \(file) is malformed: \(reason)"
            }
        }
    }

    public static func load(_ url: URL, substitutions: [String: String] = [:]) throws -> [ReplayExchange] {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw LoadError.unreadable(url.path) }
        var text = String(decoding: data, as: UTF8.self)
        // Longest names first, so that $KEY_2 is not replaced as $KEY followed by _2.
        for (name, value) in substitutions.sorted(by: { $0.key.count > $1.key.count }) {
            text = text.replacingOccurrences(of: "$" + name, with: value)
        }
        return try parse(text, file: url.lastPathComponent)
    }

    public static func parse(_ text: String, file: String = "fixture") throws -> [ReplayExchange] {
        var sections: [(kind: String, lines: [Substring])] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("### ") {
                sections.append((String(line.dropFirst(4)).trimmingCharacters(in: .whitespaces), []))
            } else if !sections.isEmpty {
                sections[sections.count - 1].lines.append(line)
            }
        }
        var exchanges: [ReplayExchange] = []
        var pending: ReplayExchange.ExpectedRequest?
        for (index, section) in sections.enumerated() {
            // Every section but the last ended with the newline before the next marker.
            let terminated = index < sections.count - 1
            switch section.kind {
            case "request":
                guard pending == nil else { throw LoadError.malformed(file: file, reason: "two requests without a response between") }
                pending = try request(section.lines, file: file)
            case "response":
                guard let request = pending else { throw LoadError.malformed(file: file, reason: "a response without a request") }
                exchanges.append(
                    ReplayExchange(request: request, response: try response(section.lines, terminated: terminated, file: file)))
                pending = nil
            default:
                throw LoadError.malformed(file: file, reason: "unknown section \"\(section.kind)\"")
            }
        }
        guard pending == nil else { throw LoadError.malformed(file: file, reason: "the last request has no response") }
        guard !exchanges.isEmpty else { throw LoadError.malformed(file: file, reason: "no exchanges") }
        return exchanges
    }

    private static func split(_ lines: [Substring]) -> (head: [Substring], body: String?) {
        guard let blank = lines.firstIndex(where: { $0.isEmpty }) else { return (lines, nil) }
        return (Array(lines[..<blank]), lines[(blank + 1)...].joined(separator: "\n"))
    }

    private static func request(_ lines: [Substring], file: String) throws -> ReplayExchange.ExpectedRequest {
        let (head, body) = split(lines)
        guard let first = head.first else { throw LoadError.malformed(file: file, reason: "a request has no request line") }
        let parts = first.split(separator: " ")
        guard parts.count >= 2 else { throw LoadError.malformed(file: file, reason: "bad request line \"\(first)\"") }
        var expected = ReplayExchange.ExpectedRequest(method: String(parts[0]), path: String(parts[1]))
        for line in head.dropFirst() {
            if line.hasPrefix("!") {
                expected.absentHeaders.append(String(line.dropFirst()).trimmingCharacters(in: .whitespaces))
            } else {
                let (name, value) = try header(line, file: file)
                expected.headers.append((name, value))
            }
        }
        if let body {
            let trimmed = body.trimmingCharacters(in: .newlines)
            expected.body = trimmed.isEmpty ? nil : trimmed
        }
        return expected
    }

    private static func response(_ lines: [Substring], terminated: Bool, file: String) throws -> ReplayExchange.RecordedResponse {
        let (head, body) = split(lines)
        guard let first = head.first else { throw LoadError.malformed(file: file, reason: "a response has no status line") }
        let parts = first.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else {
            throw LoadError.malformed(file: file, reason: "bad status line \"\(first)\"")
        }
        var response = ReplayExchange.RecordedResponse(status: status, reason: parts.count > 2 ? String(parts[2]) : "")
        var crlf = false
        for line in head.dropFirst() {
            let (name, value) = try header(line, file: file)
            switch name.lowercased() {
            case "x-replay-chunking":
                if value.hasPrefix("bytes="), let size = Int(value.dropFirst(6)), size > 0 {
                    response.chunking = .bytes(size)
                } else {
                    switch value {
                    case "whole": response.chunking = .whole
                    case "events": response.chunking = .events
                    case "lines": response.chunking = .lines
                    default: throw LoadError.malformed(file: file, reason: "unknown chunking \"\(value)\"")
                    }
                }
            case "x-replay-delay-ms": response.delayMilliseconds = Int(value) ?? 0
            case "x-replay-cut-after": response.cutAfter = Int(value)
            case "x-replay-stall-after": response.stallAfter = Int(value)
            case "x-replay-line-endings": crlf = value.lowercased() == "crlf"
            default: response.headers.append((name, value))
            }
        }
        // The body runs to the marker: the newline before the marker belongs to it.
        if let body {
            let text = terminated ? body + "\n" : body
            response.body = Array((crlf ? text.replacingOccurrences(of: "\n", with: "\r\n") : text).utf8)
        }
        return response
    }

    private static func header(_ line: Substring, file: String) throws -> (String, String) {
        guard let colon = line.firstIndex(of: ":") else { throw LoadError.malformed(file: file, reason: "bad header line \"\(line)\"") }
        return (
            String(line[..<colon]).trimmingCharacters(in: .whitespaces),
            String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        )
    }
}
