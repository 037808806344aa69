import AnimaCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything that entered one agent's context, with its label, so the provenance of a
/// tool call's arguments can be worked out.
///
/// The approach is argument-level and deliberately conservative. A value the trusted text
/// (the user's task, the system prompt) supplies as a value (a whole token or run of
/// tokens, a number, a quoted string; after `ValueNormalizer` folds case, white space,
/// number and date formats) came from there; one that merely occurs inside a longer token
/// ("13" in "2025-06-13", "example.com" in "bob@example.com") did not. A value that occurs
/// only in untrusted text came from those sources. A value that occurs nowhere was made
/// by the model; once untrusted text has entered the context the model may have been
/// steered by it, so such a value carries every untrusted source seen so far (the
/// context's taint). Before any untrusted text, a made-up value is as trusted as the task.
///
/// A value in both the user's words and untrusted text is a coincidence the text cannot
/// settle ("13" from "June 13" and an injected `file_id` 13): `provenance(of:)` reports
/// both, and the policy engine decides by the task's `ActionSet`, fixed here by `fix`
/// before any untrusted text came in.
public struct ProvenanceLedger: Sendable, Hashable {
    /// All text of one label, lower-cased UTF-8 (so `Bob@Example.com` and
    /// `bob@example.com` match), pieces joined by a NUL byte that no value contains, so a
    /// match never spans two pieces. One buffer per label keeps a lookup's cost in the
    /// number of distinct sources, not the number of tool outputs.
    struct Segment: Sendable, Hashable {
        var label: ProvenanceLabel
        var folded: [UInt8]
        /// For trusted text: the canonical keys of its numbers and dates.
        var keys: Set<String> = []
        /// For untrusted text: the values it holds as data fields (see `fields(of:)`).
        var fields: Set<String> = []
        /// The short texts already in `folded` (a tool that answers "ok" each call), so a
        /// repeat costs a set lookup instead of a fold, a field scan and a longer haystack.
        var short: Set<String> = []
    }

    /// Texts up to this many bytes are remembered per segment, and a repeat is not appended again.
    static let shortText = 256

    private var segments: [Segment] = []
    /// How many texts have entered the context.
    public private(set) var count = 0
    /// Every untrusted source that has entered the context.
    public private(set) var taint: Set<ProvenanceSource> = []
    /// Who may read everything restricted that has entered the context (the intersection
    /// of the readers of every restricted text); nil while nothing restricted has.
    public private(set) var readers: Set<String>?
    /// What the task may do, once fixed (see `fix`); nil while nothing fixed it.
    public private(set) var actions: ActionSet?
    /// Untrusted sources in which the injection detector found instructions: values from
    /// them are not "from the source the user pointed to".
    public private(set) var suspect: Set<ProvenanceSource> = []

    public init() {}

    /// Fixes the task's action set; false (and nothing changes) once untrusted text has
    /// entered the context or a set is already fixed, since then it could have been steered.
    @discardableResult
    public mutating func fix(_ actions: ActionSet) -> Bool {
        guard !isTainted, self.actions == nil else { return false }
        self.actions = actions
        return true
    }

    /// Adds what a later turn of the user's own words calls for, decided from those words
    /// and the tool list alone (so untrusted text in the context cannot have chosen it),
    /// to a set the model fixed; an explicit set stays as given. Before any set, it fixes one.
    @discardableResult
    public mutating func extend(with later: ActionSet) -> Bool {
        guard let actions else { return fix(later) }
        guard actions.origin == .model else { return false }
        self.actions = actions.adding(later)
        return true
    }

    /// Marks the untrusted sources of `label` as holding injected instructions.
    public mutating func markSuspect(_ label: ProvenanceLabel) {
        suspect.formUnion(label.untrustedSources)
    }

    /// True once any untrusted text has entered the context.
    public var isTainted: Bool { !taint.isEmpty }

    /// Records text that entered the context; false when it adds nothing (empty, or a short
    /// text already recorded with the same label).
    @discardableResult
    public mutating func record(_ text: String, label: ProvenanceLabel) -> Bool {
        guard !text.isEmpty else { return false }
        count += 1
        let short = text.utf8.count <= Self.shortText
        let existing = segments.firstIndex(where: { $0.label == label })
        if short, let i = existing, segments[i].short.contains(text) { return false }
        // Trusted text is folded as values are (white space too), and its numbers and dates keyed.
        let folded = label.isTrusted ? ValueNormalizer.fold(text).utf8 : text.lowercased().utf8
        let keys = label.isTrusted ? ValueNormalizer.keys(inText: text) : []
        let fields = label.isTrusted ? [] : Self.fields(of: text)
        if let i = existing {
            segments[i].folded.append(0)
            segments[i].folded.append(contentsOf: folded)
            segments[i].keys.formUnion(keys)
            segments[i].fields.formUnion(fields)
            if short { segments[i].short.insert(text) }
        } else {
            segments.append(Segment(label: label, folded: Array(folded), keys: keys, fields: fields, short: short ? [text] : []))
        }
        taint.formUnion(label.untrustedSources)
        if let r = label.readers { readers = readers.map { $0.intersection(r) } ?? r }
        return true
    }

    /// The label of a value the model made up: every untrusted source seen so far, and
    /// (since it may encode anything it read) the readers of everything restricted.
    private var madeUp: ProvenanceLabel {
        isTainted || readers != nil ? ProvenanceLabel(sources: isTainted ? taint : [.user], readers: readers) : .user
    }

    /// The label a value carries in this context (see the type's discussion): the user's
    /// wherever else it occurs, when their words supply it.
    public func label(of value: String) -> ProvenanceLabel { origin(of: value).label }

    /// The label of `value`, and, when the user's words supply it but it also occurs in
    /// untrusted text, the label of that untrusted text (the coincidence to decide).
    public func origin(of value: String) -> (label: ProvenanceLabel, coincidence: ProvenanceLabel?) {
        let folded = ValueNormalizer.fold(value)
        if folded.isEmpty { return (.user, nil) }  // an empty value carries nothing
        let token = Array(folded.utf8)
        let needle = Self.loweredAndTrimmed(value)
        // The separator byte could match across pieces: such a value counts as made up.
        if needle.contains(0) { return (madeUp, nil) }
        let wholeWord = needle.count < 4
        var keys: Set<String>?
        var trusted: Set<ProvenanceSource> = []
        var found: ProvenanceLabel?
        for segment in segments {
            if segment.label.isTrusted {
                if Self.occursAsToken(token, in: segment.folded) {
                    trusted.formUnion(segment.label.sources)
                } else if !segment.keys.isEmpty {
                    if keys == nil { keys = ValueNormalizer.keys(ofValue: value) }
                    if !keys!.isDisjoint(with: segment.keys) { trusted.formUnion(segment.label.sources) }
                }
            } else if Self.occurs(needle, in: segment.folded, wholeWord: wholeWord) {
                found = found?.joined(with: segment.label) ?? segment.label
            }
        }
        if !trusted.isEmpty { return (ProvenanceLabel(sources: trusted), found) }
        return (found ?? madeUp, nil)
    }

    /// `value` lower-cased without the white space around it, as UTF-8.
    static func loweredAndTrimmed(_ value: String, asciiPath: Bool = true) -> [UInt8] {
        let utf8 = value.utf8
        if asciiPath, utf8.allSatisfy({ $0 < 0x80 }) {
            var bytes = Array(utf8)
            for i in bytes.indices where bytes[i] >= 0x41 && bytes[i] <= 0x5A { bytes[i] += 0x20 }
            let start = bytes.firstIndex { !ValueNormalizer.isASCIIWhitespace($0) } ?? bytes.endIndex
            let end = bytes.lastIndex { !ValueNormalizer.isASCIIWhitespace($0) }.map { $0 + 1 } ?? start
            return Array(bytes[start..<max(start, end)])
        }
        var trimmed = Substring(value.lowercased())
        while trimmed.first?.isWhitespace == true { trimmed.removeFirst() }
        while trimmed.last?.isWhitespace == true { trimmed.removeLast() }
        return Array(trimmed.utf8)
    }

    /// The provenance of every leaf of a tool call's arguments.
    public func provenance(of arguments: JSONValue) -> [ArgumentProvenance] {
        var out: [ArgumentProvenance] = []
        func visit(_ value: JSONValue, _ path: String) {
            switch value {
            case .object(let object):
                for (key, child) in object { visit(child, path.isEmpty ? key : "\(path).\(key)") }
            case .array(let items):
                for (i, child) in items.enumerated() { visit(child, "\(path)[\(i)]") }
            case .null:
                break
            case .string(let s):
                let o = origin(of: s)
                out.append(ArgumentProvenance(path: path, value: s, label: o.label, coincidence: o.coincidence))
            case .bool, .number:
                let text = value.jsonText
                let o = origin(of: text)
                out.append(ArgumentProvenance(path: path, value: text, label: o.label, coincidence: o.coincidence))
            }
        }
        visit(arguments, "")
        return out
    }

    /// Whether `needle` occurs in `haystack` (lower-cased text). Short values (a number,
    /// a word: fewer than 4 characters) must occur as a whole word; longer ones anywhere.
    static func occurs(_ needle: String, in haystack: String) -> Bool {
        occurs(Array(needle.utf8), in: Array(haystack.utf8), wholeWord: needle.count < 4)
    }

    /// Whether `needle` occurs in `haystack` as a value: starting and ending at a token's
    /// edge, where the byte before and after is white space, a quote, a bracket or
    /// sentence punctuation (a `.` or `:` only before white space), never a letter, a digit
    /// or a joiner such as `@`, `-`, `/`, `_`.
    static func occursAsToken(_ needle: [UInt8], in haystack: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= haystack.count else { return false }
        func joins(_ b: UInt8) -> Bool {
            b >= 0x80 || (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A)
                || b == UInt8(ascii: "@") || b == UInt8(ascii: "-") || b == UInt8(ascii: "/") || b == UInt8(ascii: "_")
                || b == UInt8(ascii: "+") || b == UInt8(ascii: "#") || b == UInt8(ascii: "%") || b == UInt8(ascii: "&")
                || b == UInt8(ascii: "=") || b == UInt8(ascii: "~") || b == UInt8(ascii: "\\") || b == UInt8(ascii: "$")
        }
        var from = 0
        while from <= haystack.count - needle.count {
            guard let start = Self.find(needle, in: haystack, from: from) else { return false }
            let end = start + needle.count
            let beforeOK = start == 0 || !(joins(haystack[start - 1]) || haystack[start - 1] == UInt8(ascii: "."))
            var afterOK = end == haystack.count || !joins(haystack[end])
            if afterOK, end < haystack.count, haystack[end] == UInt8(ascii: ".") || haystack[end] == UInt8(ascii: ":") {
                let next = end + 1 < haystack.count ? haystack[end + 1] : 0x20
                afterOK = next == 0x20 || next == 0 || next == 0x0A
            }
            if beforeOK, afterOK { return true }
            from = start + 1
        }
        return false
    }

    /// The first offset of `needle` in `haystack` at or after `from`.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        haystack.withUnsafeBytes { h in
            needle.withUnsafeBytes { n in
                let first = Int32(n[0])
                var offset = from
                while offset <= h.count - n.count,
                    let found = memchr(h.baseAddress! + offset, first, h.count - n.count - offset + 1)
                {
                    let start = h.baseAddress!.distance(to: UnsafeRawPointer(found))
                    if memcmp(found, n.baseAddress!, n.count) == 0 { return start }
                    offset = start + 1
                }
                return nil
            }
        }
    }

    static func occurs(_ needle: [UInt8], in haystack: [UInt8], wholeWord: Bool) -> Bool {
        guard !needle.isEmpty, needle.count <= haystack.count else { return false }
        return haystack.withUnsafeBytes { h in
            needle.withUnsafeBytes { n in
                let first = Int32(n[0])
                var offset = 0
                while offset <= h.count - n.count,
                    let found = memchr(h.baseAddress! + offset, first, h.count - n.count - offset + 1)
                {
                    let start = h.baseAddress!.distance(to: UnsafeRawPointer(found))
                    guard memcmp(found, n.baseAddress!, n.count) == 0 else {
                        offset = start + 1
                        continue
                    }
                    if !wholeWord { return true }
                    // Non-ASCII bytes count as letters, so a match inside a word never passes.
                    func isWord(_ i: Int) -> Bool {
                        guard i >= 0, i < h.count else { return false }
                        let b = h[i]
                        return b >= 0x80 || (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A)
                    }
                    if !isWord(start - 1), !isWord(start + n.count) { return true }
                    offset = start + 1
                }
                return false
            }
        }
    }
}

/// Where one argument of a tool call came from.
public struct ArgumentProvenance: Sendable, Hashable, CustomStringConvertible {
    /// The argument's path: `to`, `attachments[0]`, `meta.subject`.
    public var path: String
    /// Its value as text.
    public var value: String
    public var label: ProvenanceLabel
    /// When the user's words supply the value but it also occurs in untrusted text: that
    /// text's label. The task's action set decides which one it came from.
    public var coincidence: ProvenanceLabel?

    public init(path: String, value: String, label: ProvenanceLabel, coincidence: ProvenanceLabel? = nil) {
        self.path = path
        self.value = value
        self.label = label
        self.coincidence = coincidence
    }

    public var description: String { "\(path) from \(label)" }
}

extension ProvenanceLedger {
    /// The values `text` holds as data rather than prose: every leaf of it as JSON, else
    /// the value of each `key: value` line, else the whole (short) text; folded, and
    /// numbers and dates also by their canonical keys. A value written inside a sentence
    /// (an instruction hidden in an email body) is not among them.
    static func fields(of text: String) -> Set<String> {
        var out: Set<String> = []
        func add(_ raw: String) {
            let folded = ValueNormalizer.fold(raw)
            guard !folded.isEmpty, folded.count <= 200 else { return }
            out.insert(folded)
            out.formUnion(ValueNormalizer.keys(ofValue: folded))
        }
        func lines(_ text: String) {
            for line in text.split(whereSeparator: \.isNewline) {
                guard let colon = line.range(of: ": ") else { continue }
                let key = line[..<colon.lowerBound].trimmingCharacters(in: .whitespaces)
                // A key is a short label ("IBAN", "From", "Amount due"), not a sentence.
                guard !key.isEmpty, key.count <= 30, key.split(separator: " ").count <= 4 else { continue }
                add(String(line[colon.upperBound...]))
            }
        }
        func visit(_ value: JSONValue) {
            switch value {
            case .object(let object): for (_, child) in object { visit(child) }
            case .array(let items): items.forEach(visit)
            case .string(let s):
                add(s)
                if s.contains(where: \.isNewline) { lines(s) }
            case .number, .bool: add(value.jsonText)
            case .null: break
            }
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.first == "{" || trimmed.first == "[", let value = try? JSONValue(parsing: trimmed) {
            visit(value)
            return out
        }
        lines(trimmed)
        if out.isEmpty { add(trimmed) }
        return out
    }

    /// Whether `value` is a whole data field (see `fields(of:)`) of the output of one of `tools`.
    public func isField(_ value: String, fromTools tools: Set<String>) -> Bool {
        let folded = ValueNormalizer.fold(value)
        let keys = ValueNormalizer.keys(ofValue: value)
        return segments.contains { segment in
            segment.label.sources.contains { if case .tool(let name) = $0 { tools.contains(name) } else { false } }
                && (segment.fields.contains(folded) || keys.contains { segment.fields.contains($0) })
        }
    }

    /// The label of the untrusted text in which `quote` occurs whole, when it is not also
    /// the user's own words; nil when no untrusted text holds it.
    public func untrustedLabel(ofQuote quote: String) -> ProvenanceLabel? {
        let needle = Array(quote.lowercased().utf8)
        guard !needle.isEmpty, !needle.contains(0) else { return nil }
        let token = Array(ValueNormalizer.fold(quote).utf8)
        var found: ProvenanceLabel?
        for segment in segments {
            if segment.label.isTrusted {
                if Self.occurs(token, in: segment.folded, wholeWord: false) { return nil }
            } else if Self.occurs(needle, in: segment.folded, wholeWord: false) {
                found = found?.joined(with: segment.label) ?? segment.label
            }
        }
        return found
    }
}
