/// Canonical forms of values, so a value the model reformatted keeps the label of the
/// user's words: "1,000" and "1000" are one number, "January 11th" and "2025-01-11" one date.
///
/// A value and a text are compared by keys: `keys(ofValue:)` for an argument, and
/// `keys(inText:)` for every whole token (or month-and-day phrase) of the user's words.
/// They match when the sets meet. Case and runs of white space are folded before
/// (`fold`). A date with a year matches the same date written without one (the model
/// filled in the year), never the same day of another year.
public enum ValueNormalizer {
    /// Lower-cased, runs of white space collapsed to one space, trimmed.
    public static func fold(_ text: String) -> String {
        foldASCII(text) ?? foldUnicode(text)
    }

    static func foldUnicode(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var space = false
        for c in text.lowercased() {
            if c.isWhitespace {
                space = !out.isEmpty
            } else {
                if space { out.append(" ") }
                space = false
                out.append(c)
            }
        }
        return out
    }

    /// `fold` for text that is all ASCII (the usual argument), byte by byte; nil otherwise.
    static func foldASCII(_ text: String) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var space = false
        for b in text.utf8 {
            if b >= 0x80 { return nil }
            if isASCIIWhitespace(b) {
                space = !out.isEmpty
                continue
            }
            if space { out.append(0x20) }
            space = false
            out.append(b >= 0x41 && b <= 0x5A ? b + 0x20 : b)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The ASCII bytes `Character.isWhitespace` accepts: tab to carriage return, and space.
    static func isASCIIWhitespace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    /// The canonical keys of one argument value (empty when it is neither a number nor a date).
    public static func keys(ofValue value: String) -> Set<String> {
        let folded = fold(value)
        if let number = number(folded) { return ["n:" + number] }
        let words = tokens(folded)
        if let date = date(in: words, at: 0), date.next == words.count { return valueKeys(date.month, date.day, date.year) }
        return []
    }

    /// The canonical keys of every number and date written in `text`.
    public static func keys(inText text: String) -> Set<String> {
        let words = tokens(fold(text))
        var keys: Set<String> = []
        var i = 0
        while i < words.count {
            if let date = date(in: words, at: i) {
                keys.formUnion(textKeys(date.month, date.day, date.year))
                i = date.next
                continue
            }
            if let number = number(words[i]) { keys.insert("n:" + number) }
            i += 1
        }
        return keys
    }

    // MARK: - Numbers

    /// "1,000", "$1000.00", "1_000" → "1000"; "12.50" → "12.5"; nil when not a number.
    static func number(_ token: String) -> String? {
        var s = Substring(token)
        if let first = s.first, "$€£¥".contains(first) { s = s.dropFirst() }
        let sign = s.hasPrefix("-") ? "-" : ""
        if s.hasPrefix("-") || s.hasPrefix("+") { s = s.dropFirst() }
        guard let first = s.first, first.isASCII, first.isNumber else { return nil }
        var digits = ""
        var fraction: String?
        for c in s {
            if c.isASCII, c.isNumber {
                if fraction != nil { fraction!.append(c) } else { digits.append(c) }
            } else if c == "," || c == "_", fraction == nil {
                continue
            } else if c == ".", fraction == nil {
                fraction = ""
            } else {
                return nil
            }
        }
        let whole = String(digits.drop { $0 == "0" })
        let frac = String((fraction ?? "").reversed().drop { $0 == "0" }.reversed())
        let integer = whole.isEmpty ? "0" : whole
        return sign + (frac.isEmpty ? integer : integer + "." + frac)
    }

    // MARK: - Dates

    private static let months: [String: Int] = {
        let names = [
            "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december",
        ]
        var out: [String: Int] = [:]
        for (i, name) in names.enumerated() {
            out[name] = i + 1
            out[String(name.prefix(3))] = i + 1
        }
        out["sept"] = 9
        return out
    }()

    /// A date starting at `words[i]`: "2025-01-11", "january 11th[,] [2025]", "11th [of] january [2025]".
    static func date(in words: [String], at i: Int) -> (month: Int, day: Int, year: Int?, next: Int)? {
        let w = words[i]
        let parts = w.split(separator: "-")
        if parts.count == 3, parts[0].count == 4, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2].prefix(2)),
            (1...12).contains(m), (1...31).contains(d), parts[2].count == 2 || parts[2].dropFirst(2).first == "t"
        {
            return (m, d, y, i + 1)
        }
        func day(_ s: String) -> Int? {
            var t = Substring(s)
            if t.hasSuffix(",") { t = t.dropLast() }
            for suffix in ["st", "nd", "rd", "th"] where t.hasSuffix(suffix) { t = t.dropLast(2) }
            guard let d = Int(t), (1...31).contains(d) else { return nil }
            return d
        }
        func month(_ s: String) -> Int? { months[s.hasSuffix(",") || s.hasSuffix(".") ? String(s.dropLast()) : s] }
        func year(_ at: Int) -> Int? {
            guard at < words.count else { return nil }
            var t = Substring(words[at])
            while let last = t.last, !last.isNumber { t = t.dropLast() }
            guard t.count == 4, let y = Int(t), (1900...2200).contains(y) else { return nil }
            return y
        }
        if let m = month(w), i + 1 < words.count, let d = day(words[i + 1]) {
            if let y = year(i + 2) { return (m, d, y, i + 3) }
            return (m, d, nil, i + 2)
        }
        if let d = day(w), i + 1 < words.count {
            var j = i + 1
            if words[j] == "of", j + 1 < words.count { j += 1 }
            if let m = month(words[j]) {
                if let y = year(j + 1) { return (m, d, y, j + 2) }
                return (m, d, nil, j + 1)
            }
        }
        return nil
    }

    private static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    // A dated text gives "d:YYYY-MM-DD" and "d:~MM-DD" (some year); an undated one "d:?MM-DD".
    // A dated value matches its own year or an undated text; an undated value matches any.
    private static func textKeys(_ m: Int, _ d: Int, _ y: Int?) -> Set<String> {
        let md = two(m) + "-" + two(d)
        return y.map { ["d:\($0)-" + md, "d:~" + md] } ?? ["d:?" + md]
    }

    private static func valueKeys(_ m: Int, _ d: Int, _ y: Int?) -> Set<String> {
        let md = two(m) + "-" + two(d)
        return y.map { ["d:\($0)-" + md, "d:?" + md] } ?? ["d:?" + md, "d:~" + md]
    }

    /// Tokens split at white space, with sentence punctuation stripped from their ends.
    static func tokens(_ folded: String) -> [String] {
        folded.split(separator: " ").map { word in
            var t = Substring(word)
            while let first = t.first, "\"'([{<«“‘".contains(first) { t = t.dropFirst() }
            while let last = t.last, "\"')]}>»”’.!?;:".contains(last) { t = t.dropLast() }
            return String(t)
        }.filter { !$0.isEmpty }
    }
}
