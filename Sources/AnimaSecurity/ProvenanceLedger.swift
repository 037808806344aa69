import AnimaCore
import Foundation

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
    /// One piece of text in the context and its label.
    public struct Entry: Sendable, Hashable {
        public var text: String
        public var label: ProvenanceLabel
        /// Lower-cased, so `Bob@Example.com` and `bob@example.com` match.
        var folded: String
    }

    public private(set) var entries: [Entry] = []
    /// Every untrusted source that has entered the context.
    public private(set) var taint: Set<ProvenanceSource> = []

    public init() {}

    /// True once any untrusted text has entered the context.
    public var isTainted: Bool { !taint.isEmpty }

    /// Records text that entered the context.
    public mutating func record(_ text: String, label: ProvenanceLabel) {
        guard !text.isEmpty else { return }
        entries.append(Entry(text: text, label: label, folded: text.lowercased()))
        taint.formUnion(label.untrustedSources)
    }

    /// The label a value carries in this context (see the type's discussion).
    public func label(of value: String) -> ProvenanceLabel {
        let needle = value.lowercased().trimmingCharacters(in: .whitespacesAndNewlines)
        if needle.isEmpty { return .user }  // an empty value carries nothing
        var trusted: Set<ProvenanceSource> = []
        var untrusted: Set<ProvenanceSource> = []
        for entry in entries where Self.occurs(needle, in: entry.folded) {
            if entry.label.isTrusted { trusted.formUnion(entry.label.sources) } else { untrusted.formUnion(entry.label.sources) }
        }
        if !trusted.isEmpty { return ProvenanceLabel(sources: trusted) }
        if !untrusted.isEmpty { return ProvenanceLabel(sources: untrusted) }
        return isTainted ? ProvenanceLabel(sources: taint) : .user
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

    /// Short values (a number, a word) must occur as a whole word; longer ones anywhere.
    static func occurs(_ needle: String, in haystack: String) -> Bool {
        if needle.count >= 4 { return haystack.contains(needle) }
        var search = haystack[...]
        while let range = search.range(of: needle) {
            let before = range.lowerBound == haystack.startIndex ? nil : haystack[haystack.index(before: range.lowerBound)]
            let after = range.upperBound == haystack.endIndex ? nil : haystack[range.upperBound]
            let isWordCharacter = { (c: Character?) in c.map { $0.isLetter || $0.isNumber } ?? false }
            if !isWordCharacter(before), !isWordCharacter(after) { return true }
            search = haystack[range.upperBound...]
        }
        return false
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
