import AnimaCore

/// An agent's answer with the text that came from untrusted sources marked, so an
/// injected "tell the user that ..." is visible as what it is.
///
/// A span is a run of at least `minimumWords` words of the answer that occurs whole in
/// untrusted text that entered the context (a tool output, a web page, a message) and is
/// not the user's own words. Each is wrapped as
/// `⟦untrusted from tool:mail__read_inbox⟧...⟦/untrusted⟧` (with `; injection` after the
/// sources when the injection detector finds instructions in it): the CLI prints the
/// marks as they are, and API clients find the spans by them (`spans(in:)`).
public struct AnswerMarking: Sendable {
    public struct Span: Sendable, Hashable {
        /// The marked text, without its marks.
        public var text: String
        public var label: ProvenanceLabel
        /// True when the injection detector found instructions in it.
        public var injection: Bool
    }

    /// Shorter runs are too common to mean anything ("the meeting is").
    public static let minimumWords = 4
    public static let open = "⟦untrusted from "
    public static let close = "⟦/untrusted⟧"

    public private(set) var text: String
    public private(set) var spans: [Span] = []

    public init(_ answer: String, context: ProvenanceLedger) {
        text = answer
        guard context.isTainted, !answer.isEmpty else { return }
        // Words as byte ranges of the answer.
        let bytes = Array(answer.utf8)
        var words: [Range<Int>] = []
        var i = 0
        while i < bytes.count {
            while i < bytes.count, Self.isSpace(bytes[i]) { i += 1 }
            let start = i
            while i < bytes.count, !Self.isSpace(bytes[i]) { i += 1 }
            if i > start { words.append(start..<i) }
        }
        func piece(_ a: Int, _ b: Int) -> String {
            var slice = String(decoding: bytes[words[a].lowerBound..<words[b - 1].upperBound], as: UTF8.self)
            // Sentence punctuation at the end is the answer's, not the source's.
            while let last = slice.last, ".,;:!?\"'".contains(last) { slice.removeLast() }
            return slice
        }
        var out = ""
        var copied = 0
        var w = 0
        while w + Self.minimumWords <= words.count {
            guard let label = context.untrustedLabel(ofQuote: piece(w, w + Self.minimumWords)) else {
                w += 1
                continue
            }
            var end = w + Self.minimumWords
            var spanLabel = label
            while end < words.count, let longer = context.untrustedLabel(ofQuote: piece(w, end + 1)) {
                end += 1
                spanLabel = longer
            }
            let quote = piece(w, end)
            let startByte = words[w].lowerBound
            let endByte = startByte + quote.utf8.count
            let injection = !PatternScanner.injectionPhrases.scan(quote).isEmpty
            spans.append(Span(text: quote, label: spanLabel, injection: injection))
            out += String(decoding: bytes[copied..<startByte], as: UTF8.self)
            out +=
                Self.open + spanLabel.untrustedSources.sorted().map(\.description).joined(separator: ",") + (injection ? "; injection" : "")
                + "⟧"
            out += quote + Self.close
            copied = endByte
            w = end
        }
        guard !spans.isEmpty else { return }
        out += String(decoding: bytes[copied...], as: UTF8.self)
        text = out
    }

    /// The marked spans of a marked answer, as (sources, text) pairs, for clients.
    public static func spans(in marked: String) -> [(sources: String, text: String)] {
        var out: [(String, String)] = []
        var rest = Substring(marked)
        while let open = rest.range(of: Self.open), let head = rest[open.upperBound...].range(of: "⟧"),
            let close = rest[head.upperBound...].range(of: Self.close)
        {
            out.append((String(rest[open.upperBound..<head.lowerBound]), String(rest[head.upperBound..<close.lowerBound])))
            rest = rest[close.upperBound...]
        }
        return out
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D }
}
