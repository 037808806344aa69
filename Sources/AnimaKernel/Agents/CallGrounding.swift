import AnimaCore

/// Whether a tool call has any footing in the conversation it was made in.
///
/// Small models invent calls when none is needed: asked "Hello! How are you?" with a weather
/// tool offered, Qwen2.5-Coder-0.5B calls `get_weather({"city": "London"})`; asked what a noun
/// is, it sends an email to `recipient@example.com` (BENCHMARKS.md, "Function calling"). Such
/// a call's arguments come from nowhere: no word of them is in what the user, the operator
/// or a tool said. A call is *grounded* when some word of its free-form arguments, or some
/// distinctive word of its tool's name, appears in the messages that are not the model's own
/// (system, user and tool messages). The test is deliberately weak, so that calls whose values
/// the model had to work out still pass: "Convert twenty dollars to euros" grounds
/// `convert_currency({"amount": 20, "from": "USD", "to": "EUR"})` by the tool's name alone.
///
/// Free-form arguments are those the schema does not close: an `enum`, a `const` or a
/// boolean is a choice among the tool's own values, not an invention. A call with no
/// free-form argument has nothing to invent and is grounded.
public struct CallGrounding: Sendable {
    private let words: Set<Substring>
    private let stems: Set<Substring>
    /// The same messages, lowercased, for words of scripts written without spaces.
    private let text: String

    /// The words of every message but the assistant's.
    public init(_ messages: [ChatMessage]) {
        let contents = messages.filter { $0.role != .assistant }.map(\.content)
        words = Set(contents.flatMap(Self.words))
        stems = Set(words.compactMap(Self.stem))
        text = contents.joined(separator: "\n").lowercased()
    }

    public func isGrounded(_ call: ToolCall, offered tools: [ToolDefinition]) -> Bool {
        let nameWords = Self.words(Self.spaced(call.name)).filter { !Self.genericVerbs.contains($0) }
        if nameWords.contains(where: has) { return true }
        let properties = tools.first { $0.name == call.name }?.parameters.json["properties"]?.objectValue
        var freeForm = 0
        var argumentWords: [Substring] = []
        for (key, value) in call.arguments.objectValue ?? JSONObject() {
            if let schema = properties?[key], schema["enum"] != nil || schema["const"] != nil || schema["type"] == "boolean" { continue }
            if case .bool = value { continue }
            if case .null = value { continue }
            freeForm += 1
            Self.collect(value, into: &argumentWords)
        }
        return freeForm == 0 || argumentWords.contains(where: has)
    }

    private func has(_ word: Substring) -> Bool {
        if words.contains(word) || Self.stem(word).map(stems.contains) == true { return true }
        // Chinese or Japanese runs whole sentences together: "東京の天気は" is one run, and
        // the city "東京" is in it, not equal to it.
        return !word.allSatisfy(\.isASCII) && text.contains(word)
    }

    /// The words of a value: its strings' and numbers' words, through arrays and objects.
    private static func collect(_ value: JSONValue, into out: inout [Substring]) {
        switch value {
        case .string(let s): out += words(s)
        case .number: out += words(value.jsonText)
        case .array(let items): for item in items { collect(item, into: &out) }
        case .object(let object): for (_, item) in object { collect(item, into: &out) }
        case .bool, .null: break
        }
    }

    /// Lowercased runs of letters and digits, without function words and single letters; a
    /// plural loses its "s". A run that mixes letters and digits stays whole ("h2o", and the
    /// data boundary's random hex nonce, whose digits would otherwise ground any small number).
    static func words(_ text: String) -> [Substring] {
        let lower = Substring(text.lowercased())
        return lower.split { !($0.isLetter || $0.isNumber) }.compactMap { word in
            if word.allSatisfy(\.isNumber) || !word.allSatisfy(\.isLetter) { return word }
            guard word.count > 1, !stopWords.contains(word) else { return nil }
            // A plural meets its singular: "notes" and "note", "stocks" and "stock".
            return word.count >= 4 && word.hasSuffix("s") && !word.hasSuffix("ss") ? word.dropLast() : word
        }
    }

    /// The first five letters of a word of five or more: "calculate" meets "calculator",
    /// "emails" meets "email".
    private static func stem(_ word: Substring) -> Substring? {
        word.count >= 5 && word.first?.isLetter == true ? word.prefix(5) : nil
    }

    /// A tool's name with its parts apart: `get_stock_price`, `getStockPrice`, `stock-price`.
    private static func spaced(_ name: String) -> String {
        var out = ""
        for c in name {
            if c.isUppercase { out.append(" ") }
            out.append(c == "_" || c == "-" || c == "." ? " " : c)
        }
        return out
    }

    /// Words of tool names that say what kind of thing a tool does, not what it is about.
    static let genericVerbs: Set<Substring> = [
        "get", "set", "create", "make", "send", "add", "list", "read", "write", "run", "do", "fetch", "find", "search",
        "update", "delete", "remove", "new", "query", "call", "use", "tool", "info", "check", "show", "open",
    ]

    static let stopWords: Set<Substring> = [
        "a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with", "from", "as", "into",
        "is", "are", "was", "were", "be", "been", "am", "it", "its", "this", "that", "these", "those", "there", "here",
        "i", "me", "my", "we", "us", "our", "you", "your", "he", "she", "him", "her", "they", "them", "their",
        "what", "which", "who", "how", "when", "where", "why", "do", "does", "did", "can", "could", "will", "would",
        "should", "may", "might", "must", "have", "has", "had", "not", "no", "yes", "so", "up", "out", "about", "all",
        "any", "some", "one", "please", "hello", "hi", "thanks", "thank", "ok", "okay",
    ]
}
