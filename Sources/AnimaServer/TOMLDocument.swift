import Foundation

/// A value in a TOML document, of the kinds Anima's config files use.
public enum TOMLValue: Sendable, Hashable {
    case string(String)
    case integer(Int)
    case float(Double)
    case bool(Bool)
    case array([TOMLValue])
    case table(TOMLTable)

    /// What the value is, in words, for error messages.
    public var kind: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .bool: "a boolean"
        case .array: "an array"
        case .table: "a table"
        }
    }
}

/// A table: keys in the order they were written.
public struct TOMLTable: Sendable, Hashable {
    public private(set) var keys: [String] = []
    private var values: [String: TOMLValue] = [:]

    public init() {}

    public subscript(key: String) -> TOMLValue? {
        get { values[key] }
        set {
            if values[key] == nil, newValue != nil { keys.append(key) }
            if newValue == nil { keys.removeAll { $0 == key } }
            values[key] = newValue
        }
    }
}

/// Where a TOML document is wrong: 1-based line and column, and what was expected.
public struct TOMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public let message: String

    public var description: String { "line \(line), column \(column): \(message)" }
}

/// A small TOML parser for config files: `key = value` lines, `[table]` and
/// `[dotted.table]` headers, bare, quoted and dotted keys, basic and literal strings
/// (single-line), integers (decimal, `0x`/`0o`/`0b`, `_` separators), floats (with
/// exponent, `inf`, `nan`), booleans, and arrays (across lines, trailing comma, comments).
///
/// Anything else (multi-line strings, inline tables, arrays of tables, dates) is refused
/// with its line and column, never guessed at; so is a key defined twice. It never traps:
/// every malformed input is a `TOMLError`.
public enum TOMLDocument {
    /// The root table of `text`.
    public static func parse(_ text: String) throws(TOMLError) -> TOMLTable {
        var parser = Parser(Array(text.unicodeScalars))
        return try parser.document()
    }

    struct Parser {
        let s: [Unicode.Scalar]
        var i = 0
        var line = 1
        var lineStart = 0

        init(_ scalars: [Unicode.Scalar]) { s = scalars }

        var peek: Unicode.Scalar? { i < s.count ? s[i] : nil }

        func error(_ message: String, at position: Int? = nil) -> TOMLError {
            TOMLError(line: line, column: (position ?? i) - lineStart + 1, message: message)
        }

        mutating func advance() {
            if s[i] == "\n" {
                line += 1
                lineStart = i + 1
            }
            i += 1
        }

        mutating func skipSpaces() {
            while let c = peek, c == " " || c == "\t" { i += 1 }
        }

        /// Skips spaces, comments and line breaks (between array items, between lines).
        mutating func skipBlank() throws(TOMLError) {
            while let c = peek {
                if c == " " || c == "\t" || c == "\n" {
                    advance()
                } else if c == "\r", i + 1 < s.count, s[i + 1] == "\n" {
                    i += 1
                } else if c == "#" {
                    try skipComment()
                } else {
                    return
                }
            }
        }

        mutating func skipComment() throws(TOMLError) {
            while let c = peek, c != "\n" {
                if c.value < 0x20 && c != "\t" && !(c == "\r" && i + 1 < s.count && s[i + 1] == "\n") {
                    throw error("control character U+\(String(c.value, radix: 16, uppercase: true)) in a comment")
                }
                i += 1
            }
        }

        /// After a value or header: only spaces and a comment may follow, then the line ends.
        mutating func endOfLine() throws(TOMLError) {
            skipSpaces()
            if peek == "#" { try skipComment() }
            if peek == "\r", i + 1 < s.count, s[i + 1] == "\n" { i += 1 }
            guard let c = peek else { return }
            guard c == "\n" else { throw error("expected the end of the line, found \"\(Character(c))\"") }
            advance()
        }

        mutating func document() throws(TOMLError) -> TOMLTable {
            var root = TOMLTable()
            var current: [String] = []
            var definedTables: Set<[String]> = []
            while true {
                try skipBlank()
                guard let c = peek else { return root }
                if c == "[" {
                    let start = i
                    i += 1
                    if peek == "[" { throw error("arrays of tables ([[...]]) are not supported", at: start) }
                    skipSpaces()
                    let path = try key()
                    skipSpaces()
                    guard peek == "]" else { throw error("expected \"]\" to close the table header") }
                    i += 1
                    guard definedTables.insert(path).inserted else {
                        throw error("the table [\(path.joined(separator: "."))] is defined twice", at: start)
                    }
                    try ensureTable(&root, path, at: start)
                    current = path
                    try endOfLine()
                } else {
                    let start = i
                    let path = try key()
                    skipSpaces()
                    guard peek == "=" else { throw error("expected \"=\" after the key \(path.joined(separator: "."))") }
                    i += 1
                    skipSpaces()
                    let v = try value()
                    try set(&root, current + path, v, at: start)
                    try endOfLine()
                }
            }
        }

        /// Makes sure `path` names a table, creating empty ones on the way.
        func ensureTable(_ table: inout TOMLTable, _ path: ArraySlice<String>, at position: Int) throws(TOMLError) {
            guard let first = path.first else { return }
            var inner: TOMLTable
            switch table[first] {
            case nil: inner = TOMLTable()
            case .table(let t): inner = t
            case let other?: throw error("\(first) is already \(other.kind), not a table", at: position)
            }
            try ensureTable(&inner, path.dropFirst(), at: position)
            table[first] = .table(inner)
        }

        func ensureTable(_ table: inout TOMLTable, _ path: [String], at position: Int) throws(TOMLError) {
            try ensureTable(&table, path[...], at: position)
        }

        func set(_ table: inout TOMLTable, _ path: [String], _ v: TOMLValue, at position: Int) throws(TOMLError) {
            try set(&table, path[...], v, at: position, whole: path)
        }

        func set(_ table: inout TOMLTable, _ path: ArraySlice<String>, _ v: TOMLValue, at position: Int, whole: [String]) throws(TOMLError)
        {
            let first = path.first!
            if path.count == 1 {
                guard table[first] == nil else { throw error("the key \(whole.joined(separator: ".")) is defined twice", at: position) }
                table[first] = v
                return
            }
            var inner: TOMLTable
            switch table[first] {
            case nil: inner = TOMLTable()
            case .table(let t): inner = t
            case let other?: throw error("\(first) is already \(other.kind), not a table", at: position)
            }
            try set(&inner, path.dropFirst(), v, at: position, whole: whole)
            table[first] = .table(inner)
        }

        /// A key: bare or quoted parts joined by dots.
        mutating func key() throws(TOMLError) -> [String] {
            var parts: [String] = []
            while true {
                skipSpaces()
                guard let c = peek else { throw error("expected a key, found the end of the file") }
                if c == "\"" {
                    parts.append(try basicString())
                } else if c == "'" {
                    parts.append(try literalString())
                } else {
                    let start = i
                    while let c = peek, Self.isBare(c) { i += 1 }
                    guard i > start else {
                        throw error("expected a key (letters, digits, \"-\" or \"_\", or a quoted string), found \"\(Character(c))\"")
                    }
                    parts.append(String(String.UnicodeScalarView(s[start..<i])))
                }
                skipSpaces()
                guard peek == "." else { return parts }
                i += 1
            }
        }

        static func isBare(_ c: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "-" || c == "_"
        }

        mutating func value() throws(TOMLError) -> TOMLValue {
            guard let c = peek, c != "\n", c != "#" else { throw error("expected a value after \"=\"") }
            switch c {
            case "\"": return .string(try basicString())
            case "'": return .string(try literalString())
            case "[": return try array()
            case "{": throw error("inline tables ({...}) are not supported; use a [table] header")
            default: return try scalar()
            }
        }

        mutating func array() throws(TOMLError) -> TOMLValue {
            i += 1
            var items: [TOMLValue] = []
            while true {
                try skipBlank()
                guard let c = peek else { throw error("the array is not closed; add \"]\"") }
                if c == "]" {
                    i += 1
                    return .array(items)
                }
                items.append(try value())
                try skipBlank()
                if peek == nil {
                    throw error("the array is not closed; add \"]\"")
                } else if peek == "," {
                    i += 1
                } else if peek != "]" {
                    throw error("expected \",\" or \"]\" in the array")
                }
            }
        }

        /// true, false, or a number, up to the next space, comma, bracket or comment.
        mutating func scalar() throws(TOMLError) -> TOMLValue {
            let start = i
            while let c = peek, !" \t\r\n,]#".unicodeScalars.contains(c) { i += 1 }
            let word = String(String.UnicodeScalarView(s[start..<i]))
            if word.isEmpty { throw error("expected a value") }
            if word == "true" { return .bool(true) }
            if word == "false" { return .bool(false) }
            if let n = integer(word) { return .integer(n) }
            if let f = float(word) { return .float(f) }
            if word.count >= 10, word.contains("-"), word.first?.isNumber == true {
                throw error("dates and times are not supported; write the value as a string", at: start)
            }
            if Self.looksInteger(word) {
                throw error("the integer \(word) is out of range (\(Int.min) to \(Int.max))", at: start)
            }
            throw error("\"\(word)\" is not a value; strings need quotes, e.g. \"\(word)\"", at: start)
        }

        static func looksInteger(_ word: String) -> Bool {
            var body = Substring(word)
            if body.first == "+" || body.first == "-" { body = body.dropFirst() }
            guard let digits = stripUnderscores(body), !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                return false
            }
            return digits.count == 1 || digits.first != "0"
        }

        /// Underscores only between digits, as TOML requires.
        static func stripUnderscores(_ digits: Substring) -> String? {
            guard digits.first != "_", digits.last != "_", !digits.contains("__") else { return nil }
            return digits.replacingOccurrences(of: "_", with: "")
        }

        func integer(_ word: String) -> Int? {
            var body = Substring(word)
            var sign = ""
            if body.first == "+" || body.first == "-" {
                sign = body.first == "-" ? "-" : ""
                body = body.dropFirst()
            }
            for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where body.hasPrefix(prefix) {
                guard sign.isEmpty, word.first != "+", let digits = Self.stripUnderscores(body.dropFirst(2)), !digits.isEmpty else {
                    return nil
                }
                return Int(digits, radix: radix)
            }
            guard let digits = Self.stripUnderscores(body), !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                return nil
            }
            if digits.count > 1, digits.first == "0" { return nil }
            return Int(sign + digits)
        }

        func float(_ word: String) -> Double? {
            var body = Substring(word)
            var negative = false
            if body.first == "+" || body.first == "-" {
                negative = body.first == "-"
                body = body.dropFirst()
            }
            if body == "inf" { return negative ? -.infinity : .infinity }
            if body == "nan" { return .nan }
            guard let digits = Self.stripUnderscores(body), !digits.isEmpty,
                digits.allSatisfy({ $0.isASCII && ($0.isNumber || ".eE+-".contains($0)) }),
                digits.contains(where: { ".eE".contains($0) }),
                digits.first?.isNumber == true, !digits.contains(".e"), !digits.contains(".E"), digits.last != "."
            else { return nil }
            guard let value = Double(digits) else { return nil }
            return negative ? -value : value
        }

        mutating func basicString() throws(TOMLError) -> String {
            let open = i
            if i + 2 < s.count, s[i + 1] == "\"", s[i + 2] == "\"" { throw error("multi-line strings (\"\"\") are not supported") }
            i += 1
            var out = String.UnicodeScalarView()
            while true {
                guard let c = peek, c != "\n" else { throw error("the string is not closed; add \"", at: open) }
                i += 1
                switch c {
                case "\"": return String(out)
                case "\\":
                    guard let e = peek else { throw error("the string is not closed; add \"", at: open) }
                    i += 1
                    switch e {
                    case "\"": out.append("\"")
                    case "\\": out.append("\\")
                    case "n": out.append("\n")
                    case "t": out.append("\t")
                    case "r": out.append("\r")
                    case "b": out.append("\u{08}")
                    case "f": out.append("\u{0C}")
                    case "u", "U":
                        let count = e == "u" ? 4 : 8
                        guard i + count <= s.count, let code = UInt32(String(String.UnicodeScalarView(s[i..<i + count])), radix: 16),
                            let scalar = Unicode.Scalar(code)
                        else { throw error("\\\(e) needs \(count) hex digits naming a Unicode scalar", at: i - 2) }
                        out.append(scalar)
                        i += count
                    default: throw error("unknown escape \\\(Character(e)) in a string", at: i - 2)
                    }
                default:
                    if c.value < 0x20 && c != "\t" || c.value == 0x7F {
                        throw error(
                            "control character U+\(String(c.value, radix: 16, uppercase: true)) in a string; write it as an escape",
                            at: i - 1)
                    }
                    out.append(c)
                }
            }
        }

        mutating func literalString() throws(TOMLError) -> String {
            let open = i
            if i + 2 < s.count, s[i + 1] == "'", s[i + 2] == "'" { throw error("multi-line strings (''') are not supported") }
            i += 1
            var out = String.UnicodeScalarView()
            while true {
                guard let c = peek, c != "\n" else { throw error("the string is not closed; add '", at: open) }
                i += 1
                if c == "'" { return String(out) }
                if c.value < 0x20 && c != "\t" || c.value == 0x7F {
                    throw error("control character U+\(String(c.value, radix: 16, uppercase: true)) in a string", at: i - 1)
                }
                out.append(c)
            }
        }
    }
}
