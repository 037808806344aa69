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
/// The approach is argument-level and deliberately conservative. A value that occurs in
/// trusted text (the user's task, the system prompt) came from there. A value that occurs
/// only in untrusted text came from those sources. A value that occurs nowhere was made
/// by the model; once untrusted text has entered the context the model may have been
/// steered by it, so such a value carries every untrusted source seen so far (the
/// context's taint). Before any untrusted text, a made-up value is as trusted as the task.
public struct ProvenanceLedger: Sendable, Hashable {
    /// All text of one label, lower-cased UTF-8 (so `Bob@Example.com` and
    /// `bob@example.com` match), pieces joined by a NUL byte that no value contains, so a
    /// match never spans two pieces. One buffer per label keeps a lookup's cost in the
    /// number of distinct sources, not the number of tool outputs.
    struct Segment: Sendable, Hashable {
        var label: ProvenanceLabel
        var folded: [UInt8]
    }

    private var segments: [Segment] = []
    /// How many texts have entered the context.
    public private(set) var count = 0
    /// Every untrusted source that has entered the context.
    public private(set) var taint: Set<ProvenanceSource> = []
    /// Who may read everything restricted that has entered the context (the intersection
    /// of the readers of every restricted text); nil while nothing restricted has.
    public private(set) var readers: Set<String>?

    public init() {}

    /// True once any untrusted text has entered the context.
    public var isTainted: Bool { !taint.isEmpty }

    /// Records text that entered the context.
    public mutating func record(_ text: String, label: ProvenanceLabel) {
        guard !text.isEmpty else { return }
        count += 1
        let folded = text.lowercased().utf8
        if let i = segments.firstIndex(where: { $0.label == label }) {
            segments[i].folded.append(0)
            segments[i].folded.append(contentsOf: folded)
        } else {
            segments.append(Segment(label: label, folded: Array(folded)))
        }
        taint.formUnion(label.untrustedSources)
        if let r = label.readers { readers = readers.map { $0.intersection(r) } ?? r }
    }

    /// The label of a value the model made up: every untrusted source seen so far, and
    /// (since it may encode anything it read) the readers of everything restricted.
    private var madeUp: ProvenanceLabel {
        isTainted || readers != nil ? ProvenanceLabel(sources: isTainted ? taint : [.user], readers: readers) : .user
    }

    /// The label a value carries in this context (see the type's discussion).
    public func label(of value: String) -> ProvenanceLabel {
        let trimmed = value.lowercased().trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return .user }  // an empty value carries nothing
        let needle = Array(trimmed.utf8)
        // The separator byte could match across pieces: such a value counts as made up.
        if needle.contains(0) { return madeUp }
        let wholeWord = trimmed.count < 4
        var trusted: Set<ProvenanceSource> = []
        var found: ProvenanceLabel?
        for segment in segments where Self.occurs(needle, in: segment.folded, wholeWord: wholeWord) {
            if segment.label.isTrusted {
                trusted.formUnion(segment.label.sources)
            } else {
                found = found?.joined(with: segment.label) ?? segment.label
            }
        }
        // What the user typed is theirs to use, wherever else it occurs.
        if !trusted.isEmpty { return ProvenanceLabel(sources: trusted) }
        return found ?? madeUp
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
                out.append(ArgumentProvenance(path: path, value: s, label: label(of: s)))
            case .bool, .number:
                let text = value.jsonText
                out.append(ArgumentProvenance(path: path, value: text, label: label(of: text)))
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

    public var description: String { "\(path) from \(label)" }
}
