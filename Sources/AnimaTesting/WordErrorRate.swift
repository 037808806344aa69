/// Word error rate: the word-level edit distance between a reference and a transcript,
/// divided by the reference's length, after lower-casing and dropping punctuation (the
/// usual normalisation for comparing speech recognisers).
public enum WordErrorRate {
    public static func words(_ text: String) -> [String] {
        let spelled = text.lowercased().map { $0.isLetter || $0.isNumber || $0 == "'" ? $0 : " " }
        return String(spelled).split(separator: " ").map { String($0).replacingApostrophes }
    }

    /// The rate, 0 for a perfect transcript; 1 for an empty reference with any words heard.
    public static func of(reference: String, hypothesis: String) -> Double {
        let r = words(reference)
        let h = words(hypothesis)
        guard !r.isEmpty else { return h.isEmpty ? 0 : 1 }
        var previous = Array(0...h.count)
        for i in 1...r.count {
            var current = [i] + Array(repeating: 0, count: h.count)
            for j in stride(from: 1, through: h.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r[i - 1] == h[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return Double(previous[h.count]) / Double(r.count)
    }
}

extension String {
    fileprivate var replacingApostrophes: String { filter { $0 != "'" } }
}
