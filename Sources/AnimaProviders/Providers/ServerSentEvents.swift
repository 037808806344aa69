import AnimaCore
import AnimaProcessor

/// One event of a `text/event-stream` response.
public struct ServerSentEvent: Sendable, Hashable {
    /// The event type; `message` when the server named none.
    public var event: String
    /// The data lines of the event, joined with line feeds.
    public var data: String
    /// The last event ID the stream set, if any.
    public var id: String?

    public init(event: String = "message", data: String, id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }
}

/// An incremental parser for server-sent events, as the WHATWG HTML standard defines
/// them (section "Server-sent events", "Interpreting an event stream").
///
/// Feed it bytes as they arrive, in chunks of any size: lines may end in CR, LF or CRLF
/// (even with the CR and LF in different chunks), a leading byte-order mark is skipped,
/// comments (`:` lines) are dropped, and `data` lines are joined. An event is dispatched
/// at the blank line that ends it; at the end of the stream, an event without its blank
/// line is discarded, as the standard requires, which is how a truncated stream shows.
/// Memory is bounded: an event larger than `maxEventBytes` is an error, not a leak.
public struct ServerSentEventParser: Sendable {
    public let maxEventBytes: Int
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var eventType = ""
    private var lastEventID: String?
    private var afterCR = false
    private var atStart = true
    private var bomBytesSeen = 0

    public init(maxEventBytes: Int = 4 << 20) {
        self.maxEventBytes = maxEventBytes
    }

    /// Parses the next bytes of the stream and returns the events they complete.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(StreamFramingError) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        for byte in bytes {
            if atStart {
                // The UTF-8 byte-order mark EF BB BF, if the stream starts with it.
                let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
                if byte == bom[bomBytesSeen] {
                    bomBytesSeen += 1
                    if bomBytesSeen == 3 { atStart = false }
                    continue
                }
                atStart = false
                line.append(contentsOf: bom.prefix(bomBytesSeen))
            }
            switch byte {
            case 0x0D:  // CR
                afterCR = true
                if let event = try endLine() { events.append(event) }
            case 0x0A:  // LF
                if afterCR {
                    afterCR = false  // the LF of a CRLF pair
                    continue
                }
                if let event = try endLine() { events.append(event) }
            default:
                afterCR = false
                line.append(byte)
                if line.count + data.count > maxEventBytes { throw .recordTooLarge(limit: maxEventBytes) }
            }
        }
        return events
    }

    /// Whether bytes of an unfinished event are waiting for the blank line that ends it.
    public var hasPartialEvent: Bool { !line.isEmpty || hasData }

    private mutating func endLine() throws(StreamFramingError) -> ServerSentEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty { return dispatch() }
        if line[0] == UInt8(ascii: ":") { return nil }
        let field: ArraySlice<UInt8>
        var value: ArraySlice<UInt8>
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            field = line[..<colon]
            value = line[(colon + 1)...]
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        } else {
            field = line[...]
            value = []
        }
        switch String(decoding: field, as: UTF8.self) {
        case "event":
            eventType = String(decoding: value, as: UTF8.self)
        case "data":
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            hasData = true
            if data.count > maxEventBytes { throw .recordTooLarge(limit: maxEventBytes) }
        case "id":
            if !value.contains(0) { lastEventID = String(decoding: value, as: UTF8.self) }
        default:
            break  // `retry` and unknown fields do not concern a client that never reconnects
        }
        return nil
    }

    private mutating func dispatch() -> ServerSentEvent? {
        defer {
            data.removeAll(keepingCapacity: true)
            hasData = false
            eventType = ""
        }
        guard hasData else { return nil }
        return ServerSentEvent(
            event: eventType.isEmpty ? "message" : eventType, data: String(decoding: data, as: UTF8.self), id: lastEventID)
    }
}
