import AnimaCore
import AnimaProcessor
import Foundation

/// Turns the bytes of generated tokens into events: whole UTF-8 characters only, text that
/// stops before any stop string, and tool calls in every family's shape (`ToolCallSyntax`).
///
/// Calls inside `<tool_call>` blocks (one object, or a list as SmolLM2 writes) are lifted
/// out of the text. An answer that starts with `{` or `[` (bare JSON, Llama 3's object,
/// Mistral's list after `[TOOL_CALLS]`) is held to its end: if it is nothing but calls of
/// offered tools, they are the calls; otherwise it is the answer's text. A Markdown JSON
/// block (```` ```json ````) in the answer is held to its closing fence the same way: models
/// that explain first (Qwen2.5-Coder-1.5B: "I'll use the calculator tool: ```json {…}```")
/// write their calls there. Other code blocks flow as they come.
///
/// Text that might be the start of a stop string or of a tool-call tag is held back until
/// it is clear which it is, so nothing that must be cut ever reaches the caller.
///
/// Under the whole-answer grammar (`ToolConstraint.wholeAnswer`) an answer is calls or words
/// from its first character: once it starts in words, a tag further on is words too (the
/// grammar lets an answer quote one, and it must not become a call of any name).
struct OutputAssembler {
    static let openTag = ToolCallSyntax.openTag
    static let closeTag = ToolCallSyntax.closeTag
    static let fenceOpen = ToolCallSyntax.fenceOpen
    static let fenceClose = ToolCallSyntax.fenceClose

    private let stops: [String]
    private let parsesToolCalls: Bool
    private let callsOnlyAtStart: Bool
    /// Whether a tool-call tag in the text still opens a call.
    private var watchesTags: Bool
    /// Names a bare call may have; nil: any.
    private let toolNames: Set<String>?
    private var pendingBytes: [UInt8] = []
    private var held = ""
    private var inToolCall = false
    /// Inside a ```json block, which is held until its closing fence.
    private var inFence = false
    /// Whether the start of the answer has been seen (bare calls are only recognised there).
    private var started = false
    /// The answer began like bare JSON: everything is held until the end.
    private var inBareCall = false
    private(set) var stopped = false
    private(set) var toolCalls: [ToolCall] = []
    /// All text emitted so far (the answer without tool-call blocks).
    private(set) var text = ""
    /// Whether the output is inside a tool call: after its tag, or in an answer that began
    /// like bare JSON.
    var inStructure: Bool { inToolCall || inBareCall || inFence }

    init(stops: [String], parsesToolCalls: Bool, toolNames: Set<String>? = nil, callsOnlyAtStart: Bool = false) {
        self.stops = stops
        self.parsesToolCalls = parsesToolCalls
        self.callsOnlyAtStart = callsOnlyAtStart
        watchesTags = parsesToolCalls
        self.toolNames = toolNames
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
        if parsesToolCalls, !started {
            let body = held.drop(while: \.isWhitespace)
            if body.isEmpty, !final { return events }
            started = true
            if let first = body.first, first == "{" || first == "[" {
                inBareCall = true
                held = String(body)
            } else if callsOnlyAtStart, body.first != Self.openTag.first {
                watchesTags = false
            }
        }
        if inBareCall {
            // A stop string ends the held text like the end of the stream does.
            var stopAt: Range<String.Index>?
            for stop in stops {
                if let r = held.range(of: stop), stopAt == nil || r.lowerBound < stopAt!.lowerBound { stopAt = r }
            }
            if let stopAt { held = String(held[..<stopAt.lowerBound]) }
            // A call written again word for word ends the answer: a small model that repeats
            // a call once repeats it until the budget cuts the last copy in half.
            let stutter = stopAt == nil && !final ? Self.repeatStart(held) : nil
            if let stutter { held = String(held[..<stutter]) }
            guard final || stopAt != nil || stutter != nil else { return events }
            let body = held
            held = ""
            inBareCall = false
            if let calls = bareCalls(body) {
                for call in calls {
                    toolCalls.append(call)
                    events.append(.toolCall(call))
                }
            } else {
                emit(body, into: &events)
            }
            if stopAt != nil || stutter != nil { stopped = true }
            return events
        }
        while true {
            if inFence {
                guard let close = held.range(of: Self.fenceClose) else {
                    if final {
                        // Unterminated: calls if it holds nothing else (as a cut tagged call), else text.
                        let body = held
                        held = ""
                        inFence = false
                        fenced(body, closed: false, into: &events)
                    }
                    return events
                }
                let body = String(held[..<close.lowerBound])
                held = String(held[close.upperBound...])
                inFence = false
                fenced(body, closed: true, into: &events)
                continue
            }
            if inToolCall {
                // The tag inside an argument is the argument's (SmolLM2 writes one there when the
                // grammar has not let it close the string); at the end, any tag closes the call.
                guard let close = Self.closingTag(in: held) ?? (final ? held.range(of: Self.closeTag) : nil) else {
                    if final {
                        // A call cut off by the token limit: it never happened; the
                        // finish reason (length) says so. A complete object still counts,
                        // even when the limit fell inside its closing tag.
                        var body = Substring(held)
                        if let partial = (1..<Self.closeTag.count).reversed().first(where: { body.hasSuffix(Self.closeTag.prefix($0)) }) {
                            body = body.dropLast(partial)
                        }
                        held = ""
                        inToolCall = false
                        events += parseCalls(String(body)).map(GenerationEvent.toolCall)
                    }
                    return events
                }
                let body = String(held[..<close.lowerBound])
                held = String(held[close.upperBound...])
                inToolCall = false
                let calls = parseCalls(body)
                if !calls.isEmpty {
                    events += calls.map(GenerationEvent.toolCall)
                } else if isRepeat(body) {
                    // The same call again in one answer: a small model stuttering, which
                    // goes on until the budget cuts it; the answer ends here.
                    held = ""
                    stopped = true
                    return events
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
            var opensFence = false
            if watchesTags {
                for (tag, fence) in [(Self.openTag, false), (Self.fenceOpen, true)] {
                    if let r = held.range(of: tag), earliest == nil || r.lowerBound < earliest!.range.lowerBound {
                        earliest = (r, false)
                        opensFence = fence
                    }
                }
            }
            if let (range, isStop) = earliest {
                emit(String(held[..<range.lowerBound]), into: &events)
                if isStop {
                    held = ""
                    stopped = true
                    return events
                }
                held = String(held[range.upperBound...])
                if opensFence { inFence = true } else { inToolCall = true }
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
        if watchesTags { watched += [Self.openTag, Self.fenceOpen] }
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

    /// A ```json block's body: its calls when it holds nothing but calls of offered tools
    /// (repeats of this answer's calls dropped), else the block as written.
    private mutating func fenced(_ body: String, closed: Bool, into events: inout [GenerationEvent]) {
        if let calls = bareCalls(body) {
            for call in calls where !toolCalls.contains(where: { $0.name == call.name && $0.arguments == call.arguments }) {
                toolCalls.append(call)
                events.append(.toolCall(call))
            }
        } else {
            emit(Self.fenceOpen + body + (closed ? Self.fenceClose : ""), into: &events)
        }
    }

    private mutating func emit(_ s: String, into events: inout [GenerationEvent]) {
        guard !s.isEmpty else { return }
        // Whitespace between tool calls is not part of the answer.
        if !toolCalls.isEmpty, s.allSatisfy(\.isWhitespace) { return }
        text += s
        events.append(.text(s))
    }

    /// The calls in a block (one object or a list), less any that repeat an earlier call of
    /// this answer; empty when the block is malformed.
    private mutating func parseCalls(_ body: String) -> [ToolCall] {
        guard let decoded = Self.decodeCalls(body.trimmingCharacters(in: .whitespacesAndNewlines)) else { return [] }
        var calls: [ToolCall] = []
        for (name, arguments) in decoded where !toolCalls.contains(where: { $0.name == name && $0.arguments == arguments }) {
            let call = ToolCall(id: "call_" + Hex.randomID().prefix(24), name: name, arguments: arguments)
            toolCalls.append(call)
            calls.append(call)
        }
        return calls
    }

    private func isRepeat(_ body: String) -> Bool {
        guard let decoded = Self.decodeCalls(body.trimmingCharacters(in: .whitespacesAndNewlines)), !decoded.isEmpty else {
            return false
        }
        return decoded.allSatisfy { call in toolCalls.contains { $0.name == call.0 && $0.arguments == call.1 } }
    }

    /// The calls of an answer that is nothing but bare calls of offered tools (an object,
    /// objects one after another, or a list, after an optional `[TOOL_CALLS]`), or nil.
    private func bareCalls(_ body: String) -> [ToolCall]? {
        var text = Substring(body.trimmingCharacters(in: .whitespacesAndNewlines))
        if text.hasPrefix(ToolCallSyntax.mistralMarker) { text = text.dropFirst(ToolCallSyntax.mistralMarker.count) }
        guard let values = Self.topLevelValues(text) else { return nil }
        var calls: [ToolCall] = []
        for value in values {
            let objects = value.arrayValue ?? [value]
            for object in objects {
                // Both a name and arguments: a JSON answer that merely has a "name" is not a call.
                guard object["arguments"] != nil || object["parameters"] != nil, let (name, arguments) = Self.decodeCall(object),
                    toolNames?.contains(name) ?? true
                else { return nil }
                if calls.contains(where: { $0.name == name && $0.arguments == arguments }) { continue }
                calls.append(ToolCall(id: "call_" + Hex.randomID().prefix(24), name: name, arguments: arguments))
            }
        }
        return calls.isEmpty ? nil : calls
    }

    /// JSON values written one after another (whitespace between), or nil if the text is
    /// anything else. A last value left open (the budget cut it) is dropped, as a cut
    /// tagged call is, when whole values come before it.
    static func topLevelValues(_ text: Substring) -> [JSONValue]? {
        var values: [JSONValue] = []
        var rest = text.drop(while: \.isWhitespace)
        while !rest.isEmpty {
            guard let end = valueEnd(rest) else {
                let open = rest.first == "{" || rest.first == "["
                return open && !values.isEmpty ? values : nil
            }
            guard let value = try? JSONValue(parsing: String(rest[..<end])) else { return nil }
            values.append(value)
            rest = rest[end...].drop(while: \.isWhitespace)
        }
        return values.isEmpty ? nil : values
    }

    /// The first closing tag in a call's body that is not inside a JSON string.
    static func closingTag(in body: String) -> Range<String.Index>? {
        let text = Substring(body)
        guard let start = firstOutsideStrings(text, where: { i, _ in text[i...].hasPrefix(closeTag) }) else { return nil }
        return start..<body.index(start, offsetBy: closeTag.count)
    }

    /// Where the first value of `text`'s leading JSON values that equals an earlier one
    /// starts, or nil if none repeats (or the text is not such values).
    static func repeatStart(_ text: String) -> String.Index? {
        guard let last = text.last(where: { !$0.isWhitespace }), last == "}" || last == "]" else { return nil }
        var seen: [JSONValue] = []
        var rest = Substring(text).drop(while: \.isWhitespace)
        while let end = valueEnd(rest), let value = try? JSONValue(parsing: String(rest[..<end])) {
            if seen.contains(value) { return rest.startIndex }
            seen.append(value)
            rest = rest[end...].drop(while: \.isWhitespace)
        }
        return nil
    }

    /// The end of the object or array that starts `text`, by bracket depth outside strings;
    /// nil if it starts with neither or never closes.
    private static func valueEnd(_ text: Substring) -> Substring.Index? {
        guard let first = text.first, first == "{" || first == "[" else { return nil }
        var depth = 0
        let close = firstOutsideStrings(text) { _, c in
            if c == "{" || c == "[" { depth += 1 } else if c == "}" || c == "]" { depth -= 1 }
            return depth == 0
        }
        return close.map(text.index(after:))
    }

    /// The first index of `text`, outside JSON strings (and their escapes), where `found`
    /// holds; `found` sees every such character in order.
    private static func firstOutsideStrings(
        _ text: Substring, where found: (Substring.Index, Character) -> Bool
    ) -> Substring.Index? {
        var inString = false
        var escaped = false
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else if c == "\"" {
                inString = true
            } else if found(i, c) {
                return i
            }
            i = text.index(after: i)
        }
        return nil
    }

    /// A tagged block's calls: one object or a list of them.
    private static func decodeCalls(_ body: String) -> [(String, JSONValue)]? {
        guard let json = try? JSONValue(parsing: body) else { return nil }
        let objects = json.arrayValue ?? [json]
        let calls = objects.compactMap(decodeCall)
        return calls.count == objects.count && !calls.isEmpty ? calls : nil
    }

    private static func decodeCall(_ json: JSONValue) -> (String, JSONValue)? {
        guard let name = json["name"]?.stringValue else { return nil }
        var arguments = json["arguments"] ?? json["parameters"] ?? .object(JSONObject())
        if case .string(let encoded) = arguments, let decoded = try? JSONValue(parsing: encoded) {
            arguments = decoded
        }
        return (name, arguments)
    }
}
