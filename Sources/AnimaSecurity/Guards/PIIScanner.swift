import Foundation

/// Personal data: email addresses, phone numbers, and payment card numbers (only digit
/// runs that pass the Luhn check count as cards, so order numbers do not).
public struct PIIScanner: GuardScanner {
    public let name = "pii"

    private static let email = try! NSRegularExpression(pattern: #"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b"#)
    private static let card = try! NSRegularExpression(pattern: #"(?<![\d-])(?:\d[ \-]?){12,18}\d(?![\d-])"#)
    private static let phone = try! NSRegularExpression(
        pattern: #"(?<![\w+])(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{2,4}\)[\s.\-]?|\d{2,4}[\s.\-])\d{3,4}[\s.\-]\d{3,4}\b"#)

    static let partials = [email, card, phone].map(PartialPattern.init)

    public init() {}

    public func scan(_ text: String) -> [GuardFinding] {
        let whole = NSRange(text.startIndex..., in: text)
        var findings: [GuardFinding] = []
        for match in Self.email.matches(in: text, range: whole) {
            if let r = Range(match.range, in: text) {
                findings.append(.init(scanner: name, category: .pii, kind: "email address", range: r))
            }
        }
        var cards: [Range<String.Index>] = []
        for match in Self.card.matches(in: text, range: whole) {
            guard let r = Range(match.range, in: text) else { continue }
            cards.append(r)  // card-shaped runs are not phone numbers, valid or not
            guard Self.passesLuhn(text[r].filter(\.isNumber)) else { continue }
            findings.append(.init(scanner: name, category: .pii, kind: "payment card number", range: r))
        }
        for match in Self.phone.matches(in: text, range: whole) {
            guard let r = Range(match.range, in: text), !cards.contains(where: { $0.overlaps(r) }) else { continue }
            findings.append(.init(scanner: name, category: .pii, kind: "phone number", range: r))
        }
        return findings
    }

    public func pendingStart(in text: String, for categories: Set<GuardCategory>) -> String.Index? {
        categories.contains(.pii) ? PartialMatch.earliest(Self.partials, in: text) : nil
    }

    /// The Luhn checksum of a payment card number.
    public static func passesLuhn(_ digits: some StringProtocol) -> Bool {
        let values = digits.compactMap(\.wholeNumberValue)
        guard values.count >= 13, values.count <= 19, values.count == digits.count else { return false }
        var sum = 0
        for (i, d) in values.reversed().enumerated() {
            if i % 2 == 1 {
                let doubled = d * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += d
            }
        }
        return sum % 10 == 0
    }
}
