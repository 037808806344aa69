import Foundation

/// One scanner of a guard pipeline: it reads a text and reports what it found.
public protocol GuardScanner: Sendable {
    /// The scanner's name, as verdicts record it.
    var name: String { get }
    func scan(_ text: String) -> [GuardFinding]
    /// Where in `text` the earliest match of one of `categories` may begin that more text
    /// could still complete or extend, or nil when none can be under way at its end. The
    /// stream guard releases the text before it (see `StreamGuard`).
    ///
    /// The default, for a scanner that cannot tell, is the last `StreamGuard.defaultWindow`
    /// characters: a match may be under way anywhere in them.
    func pendingStart(in text: String, for categories: Set<GuardCategory>) -> String.Index?
}

extension GuardScanner {
    public func pendingStart(in text: String, for categories: Set<GuardCategory>) -> String.Index? {
        text.isEmpty ? nil : text.index(text.endIndex, offsetBy: -min(text.count, StreamGuard.defaultWindow))
    }
}

/// Partial matches of regular expressions, for `GuardScanner.pendingStart`.
enum PartialMatch {
    /// `regex` made ready for `earliest`: `(?:P)|(?!)` matches what `P` matches, but its
    /// shortest match is empty, which stops ICU from failing an attempt (and reporting that
    /// it hit the end) wherever fewer characters remain than `P`'s shortest match: without
    /// it, every position in the last 50 characters of any text looked like a long query's start.
    static func prepared(_ regex: NSRegularExpression) -> NSRegularExpression {
        (try? NSRegularExpression(pattern: "(?:\(regex.pattern))|(?!)", options: regex.options)) ?? regex
    }

    /// The earliest position in `text`, before `limit`, where one of `regexes` (each
    /// `prepared`) tried there alone reads to the end of the text (ICU's hit-end flag, or a
    /// match that ends there): more text could make or extend a match starting there.
    /// Positions where every attempt failed or matched inside the text are settled, whatever
    /// follows. Rounded down to a character's start.
    static func earliest(_ regexes: [NSRegularExpression], in text: String, before limit: String.Index? = nil) -> String.Index? {
        guard !regexes.isEmpty, !text.isEmpty else { return nil }
        let length = text.utf16.count
        let end = limit.map { text.utf16.distance(from: text.utf16.startIndex, to: $0) } ?? length
        for offset in 0..<min(end, length) where regexes.contains(where: { reachesEnd($0, text, from: offset, length) }) {
            let index = text.utf16.index(text.utf16.startIndex, offsetBy: offset)
            return text.indices.last { $0 <= index } ?? text.startIndex
        }
        return nil
    }

    private static func reachesEnd(_ regex: NSRegularExpression, _ text: String, from offset: Int, _ length: Int) -> Bool {
        var reaches = false
        let options: NSRegularExpression.MatchingOptions = [.anchored, .reportCompletion, .withTransparentBounds, .withoutAnchoringBounds]
        regex.enumerateMatches(in: text, options: options, range: NSRange(location: offset, length: length - offset)) {
            match, flags, stop in
            if let match {
                reaches = flags.contains(.hitEnd) || NSMaxRange(match.range) == length
                stop.pointee = true
            } else if flags.contains(.hitEnd) {
                reaches = true
            }
        }
        return reaches
    }
}

/// What guards look for.
public enum GuardCategory: String, Sendable, Hashable, CaseIterable, Comparable {
    case secret
    case pii
    case invisibleUnicode = "invisible-unicode"
    case injection
    case canary
    case dangerousCode = "dangerous-code"
    /// Links that would carry data out (markdown images, long query payloads).
    case exfiltration
    /// What a guard model (a `GuardClassifier`) judged unsafe.
    case model

    public static func < (a: GuardCategory, b: GuardCategory) -> Bool { a.rawValue < b.rawValue }
}

/// One thing a scanner found, and where.
public struct GuardFinding: Sendable, Hashable, CustomStringConvertible {
    public var scanner: String
    public var category: GuardCategory
    /// What kind of thing, for people: `AWS access key`, `credit card`, `U+202E`.
    public var kind: String
    /// Where in the scanned text; redaction replaces it.
    public var range: Range<String.Index>

    public init(scanner: String, category: GuardCategory, kind: String, range: Range<String.Index>) {
        self.scanner = scanner
        self.category = category
        self.kind = kind
        self.range = range
    }

    public var description: String { "\(category.rawValue): \(kind)" }
}
