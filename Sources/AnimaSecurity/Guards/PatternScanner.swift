import Foundation

/// A scanner that reports every match of a set of regular expressions, each with the
/// kind of thing it finds. Secrets, injection phrasing and dangerous commands use it.
public struct PatternScanner: GuardScanner {
    public let name: String
    public let category: GuardCategory
    private let patterns: [(kind: String, regex: NSRegularExpression)]
    let partials: [PartialPattern]

    /// - Parameters:
    ///   - patterns: (kind, ICU regular expression); matching is case-insensitive when
    ///     `caseInsensitive` is true.
    public init(name: String, category: GuardCategory, caseInsensitive: Bool = false, patterns: [(String, String)]) throws {
        self.name = name
        self.category = category
        self.patterns = try patterns.map { kind, pattern in
            (kind, try NSRegularExpression(pattern: pattern, options: caseInsensitive ? [.caseInsensitive] : []))
        }
        self.partials = self.patterns.map { PartialPattern($0.regex) }
    }

    public func scan(_ text: String) -> [GuardFinding] {
        let whole = NSRange(text.startIndex..., in: text)
        var findings: [GuardFinding] = []
        for (kind, regex) in patterns {
            for match in regex.matches(in: text, range: whole) {
                guard let range = Range(match.range, in: text) else { continue }
                findings.append(GuardFinding(scanner: name, category: category, kind: kind, range: range))
            }
        }
        return findings
    }

    public func pendingStart(in text: String, for categories: Set<GuardCategory>) -> String.Index? {
        categories.contains(category) ? PartialMatch.earliest(partials, in: text) : nil
    }
}
