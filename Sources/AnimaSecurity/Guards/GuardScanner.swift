import Foundation
import Synchronization

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
    /// The earliest position in `text`, before `limit`, where one of `patterns` tried there
    /// alone reads to the end of the text (ICU's hit-end flag, or a match that ends there):
    /// more text could make or extend a match starting there. Positions where every attempt
    /// failed or matched inside the text are settled, whatever follows. Rounded down to a
    /// character's start. A position whose unit no attempt can get past is settled without
    /// an attempt (`PartialPattern.mayStart`); `filtered: false` tries every one.
    static func earliest(
        _ patterns: [PartialPattern], in text: String, before limit: String.Index? = nil, filtered: Bool = true
    ) -> String.Index? {
        guard !patterns.isEmpty, !text.isEmpty else { return nil }
        let units = Array(text.utf16)
        let length = units.count
        let end = limit.map { text.utf16.distance(from: text.utf16.startIndex, to: $0) } ?? length
        for offset in 0..<min(end, length)
        where patterns.contains(where: {
            (!filtered || $0.mayStart(at: units[offset], after: offset == 0 ? nil : units[offset - 1]))
                && reachesEnd($0.regex, text, from: offset, length)
        }) {
            let index = text.utf16.index(text.utf16.startIndex, offsetBy: offset)
            return text.indices.last { $0 <= index } ?? text.startIndex
        }
        return nil
    }

    static func reachesEnd(_ regex: NSRegularExpression, _ text: String, from offset: Int, _ length: Int) -> Bool {
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

/// A regular expression made ready for `PartialMatch.earliest`, which learns, as it meets
/// them, the UTF-16 units at which an attempt can read on.
///
/// `(?:P)|(?!)` matches what `P` matches, but its shortest match is empty, which stops ICU
/// from failing an attempt (and reporting that it hit the end) wherever fewer characters
/// remain than `P`'s shortest match: without it, every position in the last 50 characters
/// of any text looked like a long query's start.
///
/// An attempt is one ICU call, and a stream asks at every position of every chunk for
/// every pattern. Most positions hold a unit that no attempt gets past ("T" for a key that
/// starts `AKIA`, a letter inside a word for one that starts at `\b`). Whether one does is
/// learnt by trying the unit alone, after nothing or after `a`: an attempt that fails there
/// without reading past the unit makes the same choices on the same unit wherever it
/// stands, so it fails there too, provided what stands before reaches the attempt the same
/// way. Without look-behind it reaches it only through `\b`, `\B`, `^` and `\A`, which
/// see whether the unit before is a word character or a line's end: every ASCII word
/// character acts as `a`, and every other ASCII character as nothing or less (`^` and `\A`
/// hold at the start, and `\b`, `\B` see a non-word neighbour there). After a unit that is
/// not ASCII both are tried. A pattern with look-behind (or a named group), or with
/// Unicode word boundaries (which look further), is tried at every position, and so are
/// surrogates.
final class PartialPattern: Sendable {
    let regex: NSRegularExpression
    private let learns: Bool
    private let known = Mutex<[UInt32: Bool]>([:])
    /// Units remembered per pattern; beyond it a unit is tried afresh each time.
    static let memory = 8192

    init(_ regex: NSRegularExpression) {
        self.regex = (try? NSRegularExpression(pattern: "(?:\(regex.pattern))|(?!)", options: regex.options)) ?? regex
        learns =
            !regex.pattern.contains("(?<") && !regex.options.contains(.useUnicodeWordBoundaries)
            && regex.pattern.range(of: #"\(\?[a-zA-Z\-]*w"#, options: .regularExpression) == nil
    }

    /// False only where an attempt at a position holding `unit`, after `before` (nil: the
    /// text's start), cannot read past it.
    func mayStart(at unit: UInt16, after before: UInt16?) -> Bool {
        guard learns, !(0xD800...0xDFFF).contains(unit) else { return true }
        enum Before: UInt32 { case nothing, word, unknown }
        let kind: Before =
            switch before {
            case nil: .nothing
            case let b? where b < 0x80:
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F ? .word : .nothing
            default: .unknown
            }
        let key = UInt32(unit) | kind.rawValue << 16
        if let may = known.withLock({ $0[key] }) { return may }
        let alone = String(utf16CodeUnits: [unit], count: 1)
        let may =
            switch kind {
            case .nothing: PartialMatch.reachesEnd(regex, alone, from: 0, 1)
            case .word: PartialMatch.reachesEnd(regex, "a" + alone, from: 1, 2)
            case .unknown: PartialMatch.reachesEnd(regex, alone, from: 0, 1) || PartialMatch.reachesEnd(regex, "a" + alone, from: 1, 2)
            }
        known.withLock { if $0.count < Self.memory { $0[key] = may } }
        return may
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
