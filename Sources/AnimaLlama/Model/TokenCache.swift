/// Tokenisations of recently seen texts. Prompts are tokenised segment by segment
/// (`LlamaEngine.prompt`), and most segments repeat from one request to the next: the
/// system prefix, core memory, resident messages, the same memories paged in again. A
/// segment's tokens depend only on its text and the two flags, so a hit returns exactly
/// what llama.cpp would: counts stay exact. (The pre-tokeniser's regexes made
/// tokenisation over a third of a page-in.)
///
/// Two generations bound the memory: lookups promote entries to the current one, and
/// when it holds `byteLimit` bytes of text it becomes the previous one, replacing it.
struct TokenCache {
    struct Key: Hashable {
        var text: String
        var addSpecial: Bool
        var parseSpecial: Bool
    }

    /// Longer texts are tokenised every time: a document read once would only push out
    /// the segments that repeat.
    static let longestText = 16 * 1024
    let byteLimit: Int
    private var current: [Key: [Int32]] = [:]
    private var previous: [Key: [Int32]] = [:]
    private var currentBytes = 0

    init(byteLimit: Int = 4 << 20) {
        self.byteLimit = byteLimit
    }

    mutating func tokens(for key: Key) -> [Int32]? {
        if let tokens = current[key] { return tokens }
        guard let tokens = previous[key] else { return nil }
        insert(tokens, for: key)
        return tokens
    }

    mutating func insert(_ tokens: [Int32], for key: Key) {
        guard key.text.utf8.count <= Self.longestText else { return }
        if currentBytes >= byteLimit {
            previous = current
            current = [:]
            currentBytes = 0
        }
        if current.updateValue(tokens, forKey: key) == nil { currentBytes += key.text.utf8.count + tokens.count * 4 }
    }
}
