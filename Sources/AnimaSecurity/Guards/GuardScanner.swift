/// One scanner of a guard pipeline: it reads a text and reports what it found.
public protocol GuardScanner: Sendable {
    /// The scanner's name, as verdicts record it.
    var name: String { get }
    func scan(_ text: String) -> [GuardFinding]
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
