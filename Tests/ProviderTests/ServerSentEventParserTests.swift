import Testing

@testable import AnimaProcessor
@testable import AnimaProviders

@Suite("Server-sent events parser")
struct ServerSentEventParserTests {
    static let stream = Array(
        "\u{FEFF}: a comment\nevent: message_start\ndata: {\"a\":1}\n\nid: 7\ndata: line one\r\ndata:line two\r\n\r\ndata: é👋\r\r".utf8)
    static let expected = [
        ServerSentEvent(event: "message_start", data: "{\"a\":1}"),
        ServerSentEvent(event: "message", data: "line one\nline two", id: "7"),
        ServerSentEvent(event: "message", data: "é👋", id: "7"),
    ]

    @Test func parsesTheStandardsFieldsAndLineEndings() throws {
        var parser = ServerSentEventParser()
        #expect(try parser.feed(Self.stream) == Self.expected)
        #expect(!parser.hasPartialEvent)
    }

    /// Every way of cutting the stream in two gives the same events, including cuts
    /// inside a CRLF pair, the byte-order mark and multi-byte characters.
    @Test func anySplitGivesTheSameEvents() throws {
        for cut in 0...Self.stream.count {
            var parser = ServerSentEventParser()
            let events = try parser.feed(Self.stream[..<cut]) + parser.feed(Self.stream[cut...])
            #expect(events == Self.expected, "cut at byte \(cut)")
        }
        var parser = ServerSentEventParser()
        var oneByOne: [ServerSentEvent] = []
        for byte in Self.stream { oneByOne += try parser.feed([byte]) }
        #expect(oneByOne == Self.expected)
    }

    @Test func anUnfinishedEventIsNotDispatched() throws {
        var parser = ServerSentEventParser()
        #expect(try parser.feed(Array("data: {\"cut\": tr".utf8)).isEmpty)
        #expect(parser.hasPartialEvent)
    }

    @Test func anOversizedEventIsAnError() {
        var parser = ServerSentEventParser(maxEventBytes: 1024)
        let big = Array(("data: " + String(repeating: "x", count: 600) + "\ndata: " + String(repeating: "y", count: 600) + "\n").utf8)
        #expect(throws: StreamFramingError.recordTooLarge(limit: 1024)) { _ = try parser.feed(big) }
        var lines = JSONLinesParser(maxLineBytes: 1024)
        #expect(throws: StreamFramingError.recordTooLarge(limit: 1024)) {
            _ = try lines.feed(Array(repeating: UInt8(ascii: "z"), count: 2000))
        }
    }

    @Test func jsonLinesSplitAnywhere() throws {
        let text = Array("{\"a\":1}\r\n\n{\"b\":\"ü\"}\n{\"c\":3}".utf8)
        for cut in 0...text.count {
            var parser = JSONLinesParser()
            var lines = try parser.feed(text[..<cut]) + parser.feed(text[cut...])
            if let last = parser.finish() { lines.append(last) }
            #expect(lines == ["{\"a\":1}", "{\"b\":\"ü\"}", "{\"c\":3}"], "cut at byte \(cut)")
        }
    }
}
