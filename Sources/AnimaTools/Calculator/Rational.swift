import BigInt

/// An exact rational number on big integers, always in lowest terms with a positive
/// denominator. The calculator computes with it so that 0.1 + 0.2 is exactly 0.3.
struct Rational: Sendable, Hashable, Comparable {
    let numerator: BigInt
    let denominator: BigInt

    init(_ numerator: BigInt, _ denominator: BigInt = 1) {
        precondition(denominator != 0)
        if denominator == 1 || numerator == 0 {  // integers need no gcd, which is slow on huge values
            self.numerator = numerator
            self.denominator = numerator == 0 ? 1 : denominator
            return
        }
        let divisor = BigInt(numerator.magnitude.greatestCommonDivisor(with: denominator.magnitude))
        let sign: BigInt = denominator < 0 ? -1 : 1
        self.numerator = divisor > 1 ? sign * numerator / divisor : sign * numerator
        self.denominator = divisor > 1 ? sign * denominator / divisor : sign * denominator
    }

    init(_ value: Int) { self.init(BigInt(value)) }

    /// Parses a decimal literal such as `12`, `0.25` or `1.5e-3`.
    init?(decimal text: Substring) {
        var mantissa = text
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let value = Int(text[text.index(after: e)...]), abs(value) <= 10_000 else { return nil }
            exponent = value
            mantissa = text[..<e]
        }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return nil }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard let digits = BigInt(String(parts[0] + fraction)) else { return nil }
        exponent -= fraction.count
        let scale = BigInt(10).power(abs(exponent))
        self = exponent >= 0 ? Rational(digits * scale) : Rational(digits, scale)
    }

    var isInteger: Bool { denominator == 1 }
    var isNegative: Bool { numerator < 0 }
    var isZero: Bool { numerator == 0 }
    /// The larger of the bit widths of numerator and denominator: the cost of the number.
    var bitWidth: Int { max(numerator.magnitude.bitWidth, denominator.magnitude.bitWidth) }

    static func + (a: Rational, b: Rational) -> Rational {
        Rational(a.numerator * b.denominator + b.numerator * a.denominator, a.denominator * b.denominator)
    }
    static func - (a: Rational, b: Rational) -> Rational {
        Rational(a.numerator * b.denominator - b.numerator * a.denominator, a.denominator * b.denominator)
    }
    static func * (a: Rational, b: Rational) -> Rational {
        Rational(a.numerator * b.numerator, a.denominator * b.denominator)
    }
    /// Division; the caller checks for zero.
    static func / (a: Rational, b: Rational) -> Rational {
        Rational(a.numerator * b.denominator, a.denominator * b.numerator)
    }
    static prefix func - (a: Rational) -> Rational { Rational(-a.numerator, a.denominator) }

    static func < (a: Rational, b: Rational) -> Bool {
        a.numerator * b.denominator < b.numerator * a.denominator
    }

    /// Rounds toward negative infinity.
    var floor: BigInt {
        let (q, r) = numerator.quotientAndRemainder(dividingBy: denominator)
        return r < 0 ? q - 1 : q
    }

    var ceil: BigInt { -(-self).floor }

    /// Rounds half away from zero.
    var rounded: BigInt {
        let half = Rational(1, 2)
        return isNegative ? -((-self) + half).floor : (self + half).floor
    }

    /// The decimal expansion with at most `digits` fraction digits, and whether it is exact.
    func decimal(digits: Int) -> (text: String, exact: Bool) {
        let sign = isNegative ? "-" : ""
        let magnitude = BigInt(numerator.magnitude)
        let (whole, remainder) = magnitude.quotientAndRemainder(dividingBy: denominator)
        if remainder == 0 { return (sign + whole.description, true) }
        var fraction = ""
        var r = remainder
        while r != 0, fraction.count < digits {
            r *= 10
            let (q, next) = r.quotientAndRemainder(dividingBy: denominator)
            fraction += q.description
            r = next
        }
        return (sign + whole.description + "." + fraction, r == 0)
    }
}
