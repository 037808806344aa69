import Foundation

/// How text becomes search terms, for documents and queries alike: case and accents
/// folded, split at anything that is not a letter or digit, common English function
/// words dropped, and a light plural stem. The terms are then blinded per namespace
/// (`NamespaceCipher.blind`) before they reach any index.
enum FullTextTerms {
    static func terms(_ text: String) -> [String] {
        let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
        var out: [String] = []
        var current = ""
        func flush() {
            defer { current = "" }
            guard !current.isEmpty, current.count <= 64, !stopWords.contains(current) else { return }
            out.append(stem(current))
        }
        for scalar in folded.unicodeScalars {
            if CharacterSet.alphanumerics.contains(scalar) {
                current.unicodeScalars.append(scalar)
            } else {
                flush()
            }
        }
        flush()
        return out
    }

    /// Plural and possessive endings only: enough for "trips" to find "trip" without the
    /// surprises of a full stemmer.
    static func stem(_ word: String) -> String {
        guard word.count > 3, word.unicodeScalars.allSatisfy({ $0.isASCII }) else { return word }
        if word.hasSuffix("ies") && word.count > 4 { return String(word.dropLast(3)) + "y" }
        if word.hasSuffix("s") && !word.hasSuffix("ss") && !word.hasSuffix("us") && !word.hasSuffix("is") {
            return String(word.dropLast())
        }
        return word
    }

    static let stopWords: Set<String> = [
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "did", "do", "does", "for", "from", "had", "has",
        "have", "he", "her", "his", "i", "if", "in", "into", "is", "it", "its", "me", "my", "no", "not", "of", "on",
        "or", "our", "she", "so", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to",
        "was", "we", "were", "what", "when", "which", "who", "will", "with", "you", "your",
        "s", "t", "d", "ll", "re", "ve", "m",
    ]
}
