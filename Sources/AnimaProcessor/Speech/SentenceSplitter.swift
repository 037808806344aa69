/// Cuts streamed text into sentences as they complete, for speech that starts early.
///
/// A sentence ends at `.`, `!`, `?` or a newline followed by whitespace; a decimal point or an
/// abbreviation without a following space does not end one. Text that never ends a sentence
/// comes out from `finish()`.
///
/// With `firstClause`, the first piece may end early, at a comma, semicolon or colon after at
/// least `clauseWords` words: speech can start on "Paris is the capital," while the model is
/// still writing the rest of the sentence.
public struct SentenceSplitter: Sendable {
    private var pending = ""
    private var emitted = false
    private let firstClause: Bool
    private let clauseWords: Int

    /// - Parameters:
    ///   - firstClause: let the first piece end at a clause. Default false: sentences only.
    ///   - clauseWords: the fewest words that first clause may have. Default 3.
    public init(firstClause: Bool = false, clauseWords: Int = 3) {
        self.firstClause = firstClause
        self.clauseWords = max(1, clauseWords)
    }

    /// Adds a piece and returns the sentences it completed, trimmed, in order.
    public mutating func add(_ piece: String) -> [String] {
        pending += piece
        var sentences: [String] = []
        var start = pending.startIndex
        var i = pending.startIndex
        while i < pending.endIndex {
            let c = pending[i]
            let next = pending.index(after: i)
            let ends = ".!?\n".contains(c) || (firstClause && !emitted && ",;:".contains(c))
            if ends, next < pending.endIndex, pending[next].isWhitespace || c == "\n" {
                let sentence = pending[start...i].trimmingWhitespace
                let words = sentence.split(whereSeparator: \.isWhitespace).count
                if ",;:".contains(c), words < clauseWords {
                    i = next
                    continue
                }
                if sentence.contains(where: { $0.isLetter || $0.isNumber }) {
                    sentences.append(sentence)
                    emitted = true
                }
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
