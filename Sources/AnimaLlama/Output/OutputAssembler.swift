import AnimaCore
import AnimaProcessor
import Foundation

/// Turns the bytes of generated tokens into events: whole UTF-8 characters only, text that
/// stops before any stop string, and tool calls lifted out of `<tool_call>` blocks.
///
/// Text that might be the start of a stop string or of a tool-call tag is held back until
/// it is clear which it is, so nothing that must be cut ever reaches the caller.
struct OutputAssembler {
    static let openTag = "<tool_call>"
    static let closeTag = "</tool_call>"

    private let stops: [String]
    private let parsesToolCalls: Bool
    private var pendingBytes: [UInt8] = []
    private var held = ""
    private var inToolCall = false
    private(set) var stopped = false
    private(set) var toolCalls: [ToolCall] = []
    /// All text emitted so far (the answer without tool-call blocks).
    private(set) var text = ""

    init(stops: [String], parsesToolCalls: Bool) {
        self.stops = stops
        self.parsesToolCalls = parsesToolCalls
    }

    /// Feeds the bytes of one token; returns the events they complete.
    mutating func push(_ bytes: [UInt8]) -> [GenerationEvent] {
        guard !stopped else { return [] }
        pendingBytes += bytes
        held += takeCompleteCharacters()
        return drain(final: false)
    }

    /// Ends the stream: releases held text and any unterminated tool call.
    mutating func finish() -> [GenerationEvent] {
        guard !stopped else { return [] }
        if !pendingBytes.isEmpty {
            held += String(decoding: pendingBytes, as: UTF8.self)  // invalid tail becomes U+FFFD
            pendingBytes = []
        }
        return drain(final: true)
    }

    private mutating func takeCompleteCharacters() -> String {
        // Find the longest prefix of pendingBytes that ends on a character boundary.
        var end = pendingBytes.count
        var back = 0
        while back < min(4, pendingBytes.count) {
            let b = pendingBytes[pendingBytes.count - 1 - back]
            if b & 0xC0 != 0x80 {  // a lead byte or ASCII
                let need = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
                if need > back + 1 { end = pendingBytes.count - 1 - back }
                break
            }
            back += 1
        }
        let complete = Array(pendingBytes[..<end])
        pendingBytes.removeFirst(end)
        return String(decoding: complete, as: UTF8.self)
    }

    private mutating func drain(final: Bool) -> [GenerationEvent] {
        var events: [GenerationEvent] = []
        while true {
            if inToolCall {
                guard let close = held.range(of: Self.closeTag) else {
                    if final {
                        // A call cut off by the token limit: it never happened; the
                        // finish reason (length) says so. A complete object still counts.
                        let body = held
                        held = ""
                        inToolCall = false
                        if let call = parseCall(body) { events.append(.toolCall(call)) }
                    }
                    return events
                }
                let body = String(held[..<close.lowerBound])
                held = String(held[close.upperBound...])
                inToolCall = false
                if let call = parseCall(body) {
                    events.append(.toolCall(call))
                } else if isRepeat(body) {
                    // The same call again in one answer: a small model stuttering.
                } else {
                    emit(Self.openTag + body + Self.closeTag, into: &events)
                }
                continue
            }
            // Earliest stop string or tool-call tag in the held text.
            var earliest: (range: Range<String.Index>, isStop: Bool)?
            for stop in stops {
                if let r = held.range(of: stop), earliest == nil || r.lowerBound < earliest!.range.lowerBound {
                    earliest = (r, true)
                }
            }
            if parsesToolCalls, let r = held.range(of: Self.openTag),
                earliest == nil || r.lowerBound < earliest!.range.lowerBound
            {
                earliest = (r, false)
            }
            if let (range, isStop) = earliest {
                emit(String(held[..<range.lowerBound]), into: &events)
                if isStop {
                    held = ""
                    stopped = true
                    return events
                }
                held = String(held[range.upperBound...])
                inToolCall = true
                continue
            }
            if final {
                emit(held, into: &events)
                held = ""
                return events
            }
            // Hold back the longest tail that could still grow into a watched string.
            let keep = heldTailLength()
            let cut = held.index(held.endIndex, offsetBy: -keep)
            emit(String(held[..<cut]), into: &events)
            held = String(held[cut...])
            return events
        }
    }

    private func heldTailLength() -> Int {
        var watched = stops
        if parsesToolCalls { watched.append(Self.openTag) }
        var best = 0
        for w in watched {
            var n = min(w.count - 1, held.count)
            while n > best {
                if held.hasSuffix(w.prefix(n)) { best = n; break }
                n -= 1
            }
        }
        return best
    }

    private mutating func emit(_ s: String, into events: inout [GenerationEvent]) {
        guard !s.isEmpty else { return }
        // Whitespace between tool calls is not part of the answer.
        if !toolCalls.isEmpty, s.allSatisfy(\.isWhitespace) { return }
        text += s
        events.append(.text(s))
    }

    /// The call in a block, unless it is malformed or repeats an earlier call of this answer.
    private mutating func parseCall(_ body: String) -> ToolCall? {
        guard let (name, arguments) = Self.decodeCall(body), !toolCalls.contains(where: { $0.name == name && $0.arguments == arguments })
        else { return nil }
        let call = ToolCall(id: "call_" + Hex.randomID().prefix(24), name: name, arguments: arguments)
        toolCalls.append(call)
        return call
    }

    private func isRepeat(_ body: String) -> Bool {
        guard let (name, arguments) = Self.decodeCall(body) else { return false }
        return toolCalls.contains { $0.name == name && $0.arguments == arguments }
    }

    private static func decodeCall(_ body: String) -> (String, JSONValue)? {
        guard let json = try? JSONValue(parsing: body.trimmingCharacters(in: .whitespacesAndNewlines)),
            let name = json["name"]?.stringValue
        else { return nil }
        var arguments = json["arguments"] ?? json["parameters"] ?? .object(JSONObject())
        if case .string(let encoded) = arguments, let decoded = try? JSONValue(parsing: encoded) {
            arguments = decoded
        }
        return (name, arguments)
    }
}
