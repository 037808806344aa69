/// Cuts streamed text into sentences as they complete, for speech that starts early.
///
/// A sentence ends at `.`, `!`, `?` or a newline followed by whitespace; a decimal point or an
/// abbreviation without a following space does not end one. Text that never ends a sentence
/// comes out from `finish()`.
public struct SentenceSplitter: Sendable {
    private var pending = ""

    public init() {}

    /// Adds a piece and returns the sentences it completed, trimmed, in order.
    public mutating func add(_ piece: String) -> [String] {
        pending += piece
        var sentences: [String] = []
        var start = pending.startIndex
        var i = pending.startIndex
        while i < pending.endIndex {
            let c = pending[i]
            let next = pending.index(after: i)
            if ".!?\n".contains(c), next < pending.endIndex, pending[next].isWhitespace || c == "\n" {
                let sentence = pending[start...i].trimmingWhitespace
                if sentence.contains(where: { $0.isLetter || $0.isNumber }) { sentences.append(sentence) }
                start = next
            }
            i = next
        }
        pending = String(pending[start...])
        return sentences
    }

    /// What is left, if it holds any words.
    public mutating func finish() -> String? {
        defer { pending = "" }
        let rest = Substring(pending).trimmingWhitespace
        return rest.contains(where: { $0.isLetter || $0.isNumber }) ? rest : nil
    }
}

extension Substring {
    fileprivate var trimmingWhitespace: String {
        var s = self
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
