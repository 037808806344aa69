import BigInt

/// Exact arithmetic on big integers and decimals: `+ - * / % ^`, parentheses, unary
/// minus, postfix `!`, and the functions sqrt, abs, min, max, floor, ceil, round,
/// factorial and gcd, with the constants pi and e.
///
/// It parses and evaluates a small grammar itself and never evaluates code. Every
/// result is exact except where a function or constant is irrational (sqrt of a
/// non-square, pi, e); those are computed to `approximationDigits` and marked inexact.
/// Hostile input is refused within limits on length, nesting, exponents and digits.
public struct Calculator: Sendable {
    /// A result: the exact rational and whether any step approximated.
    public struct Value: Sendable, Hashable {
        let rational: Rational
        public var exact: Bool

        /// The result in decimal, with up to `digits` fraction digits.
        public func decimal(digits: Int = 30) -> String { rational.decimal(digits: digits).text }

        /// `p/q` for a non-integer, nil for an integer.
        public var fraction: String? {
            rational.isInteger ? nil : "\(rational.numerator)/\(rational.denominator)"
        }

        /// Whether the decimal expansion is finite within `digits` and every step was exact.
        public func isExactDecimal(digits: Int = 30) -> Bool { exact && rational.decimal(digits: digits).exact }
    }

    public var maxLength = 10_000
    public var maxDepth = 200
    /// The most digits any number may have (numerator or denominator).
    public var maxDigits = 10_000
    public var maxFactorial = 5_000
    public var approximationDigits = 40

    public init() {}

    private var maxBits: Int { maxDigits * 3322 / 1000 + 1 }

    /// Evaluates `expression`.
    public func evaluate(_ expression: String) throws(CalculatorError) -> Value {
        guard expression.utf8.count <= maxLength else {
            throw CalculatorError("the expression is \(expression.utf8.count) bytes long; the limit is \(maxLength)")
        }
        var parser = Parser(text: Array(expression.unicodeScalars), calculator: self)
        let value = try parser.expression(depth: 0)
        parser.skipSpaces()
        guard parser.position == parser.text.count else {
            throw CalculatorError("unexpected \"\(parser.text[parser.position])\"", at: parser.position)
        }
        return value
    }

    func checked(_ r: Rational, exact: Bool, at offset: Int) throws(CalculatorError) -> Value {
        guard r.bitWidth <= maxBits else {
            throw CalculatorError("a number in the computation exceeds \(maxDigits) digits", at: offset)
        }
        return Value(rational: r, exact: exact)
    }

    /// A recursive-descent parser that evaluates as it goes.
    struct Parser {
        let text: [Unicode.Scalar]
        let calculator: Calculator
        var position = 0

        mutating func skipSpaces() {
            while position < text.count, text[position].properties.isWhitespace { position += 1 }
        }

        mutating func peek() -> Unicode.Scalar? {
            skipSpaces()
            return position < text.count ? text[position] : nil
        }

        mutating func expect(_ c: Unicode.Scalar) throws(CalculatorError) {
            guard peek() == c else {
                throw CalculatorError(
                    position < text.count ? "expected \"\(c)\" but found \"\(text[position])\"" : "expected \"\(c)\" at the end",
                    at: position)
            }
            position += 1
        }

        func deeper(_ depth: Int) throws(CalculatorError) -> Int {
            guard depth < calculator.maxDepth else {
                throw CalculatorError("the expression nests deeper than \(calculator.maxDepth) levels", at: position)
            }
            return depth + 1
        }

        mutating func expression(depth: Int) throws(CalculatorError) -> Value {
            let depth = try deeper(depth)
            var value = try term(depth: depth)
            while let op = peek(), op == "+" || op == "-" {
                let at = position
                position += 1
                let rhs = try term(depth: depth)
                value = try calculator.checked(
                    op == "+" ? value.rational + rhs.rational : value.rational - rhs.rational, exact: value.exact && rhs.exact, at: at)
            }
            return value
        }

        mutating func term(depth: Int) throws(CalculatorError) -> Value {
            var value = try unary(depth: depth)
            while let op = peek(), op == "*" || op == "/" || op == "%" || op == "×" || op == "÷" {
                let at = position
                position += 1
                let rhs = try unary(depth: depth)
                let exact = value.exact && rhs.exact
                switch op {
                case "*", "×":
                    try calculator.checkProduct(value.rational, rhs.rational, at: at)
                    value = try calculator.checked(value.rational * rhs.rational, exact: exact, at: at)
                case "%":
                    guard value.rational.isInteger, rhs.rational.isInteger else { throw CalculatorError("% needs integers", at: at) }
                    guard !rhs.rational.isZero else { throw CalculatorError("modulo by zero", at: at) }
                    let r = value.rational.numerator % rhs.rational.numerator
                    value = Value(rational: Rational(r), exact: exact)
                default:
                    guard !rhs.rational.isZero else { throw CalculatorError("division by zero", at: at) }
                    try calculator.checkProduct(value.rational, Rational(rhs.rational.denominator, rhs.rational.numerator), at: at)
                    value = try calculator.checked(value.rational / rhs.rational, exact: exact, at: at)
                }
            }
            return value
        }

        mutating func unary(depth: Int) throws(CalculatorError) -> Value {
            if let op = peek(), op == "-" || op == "+" || op == "−" {
                let depth = try deeper(depth)
                position += 1
                let value = try unary(depth: depth)
                return op == "+" ? value : Value(rational: -value.rational, exact: value.exact)
            }
            return try power(depth: depth)
        }

        /// `a ^ b`, right-associative, binding tighter than unary minus on its left (-2^2 = -4).
        mutating func power(depth: Int) throws(CalculatorError) -> Value {
            let base = try postfix(depth: depth)
            guard let op = peek(), op == "^" || (op == "*" && position + 1 < text.count && text[position + 1] == "*") else { return base }
            let at = position
            position += op == "^" ? 1 : 2
            let exponent = try unary(depth: try deeper(depth))
            return try calculator.power(base, exponent, at: at)
        }

        mutating func postfix(depth: Int) throws(CalculatorError) -> Value {
            var value = try primary(depth: depth)
            while peek() == "!" {
                let at = position
                position += 1
                value = try calculator.factorial(value, at: at)
            }
            return value
        }

        mutating func primary(depth: Int) throws(CalculatorError) -> Value {
            guard let c = peek() else { throw CalculatorError("the expression ends where a number was expected", at: position) }
            if c == "(" {
                position += 1
                let value = try expression(depth: try deeper(depth))
                try expect(")")
                return value
            }
            if c.properties.numericType != nil && c.isASCII || c == "." {
                return try number()
            }
            if c.properties.isAlphabetic {
                let start = position
                while position < text.count,
                    text[position].properties.isAlphabetic || (text[position].isASCII && text[position].properties.numericType != nil)
                {
                    position += 1
                }
                let name = String(String.UnicodeScalarView(text[start..<position])).lowercased()
                if peek() == "(" {
                    position += 1
                    var arguments: [Value] = []
                    if peek() != ")" {
                        repeat {
                            if !arguments.isEmpty { position += 1 }
                            arguments.append(try expression(depth: try deeper(depth)))
                        } while peek() == ","
                    }
                    try expect(")")
                    return try calculator.call(name, arguments, at: start)
                }
                return try calculator.constant(name, at: start)
            }
            throw CalculatorError(
                "unexpected \"\(c)\"; use numbers, + - * / % ^ !, parentheses and functions such as sqrt(2)", at: position)
        }

        mutating func number() throws(CalculatorError) -> Value {
            let start = position
            func isDigit(_ c: Unicode.Scalar) -> Bool { c.isASCII && c.properties.numericType != nil }
            while position < text.count, isDigit(text[position]) || text[position] == "." || text[position] == "_" { position += 1 }
            if position < text.count, text[position] == "e" || text[position] == "E" {
                var look = position + 1
                if look < text.count, text[look] == "+" || text[look] == "-" { look += 1 }
                if look < text.count, isDigit(text[look]) {
                    position = look
                    while position < text.count, isDigit(text[position]) { position += 1 }
                }
            }
            let literal = String(String.UnicodeScalarView(text[start..<position])).replacingOccurrences(of: "_", with: "")
            guard literal.count <= calculator.maxDigits else {
                throw CalculatorError("a number has more than \(calculator.maxDigits) digits", at: start)
            }
            guard let r = Rational(decimal: Substring(literal)) else {
                throw CalculatorError("\"\(literal)\" is not a number", at: start)
            }
            return try calculator.checked(r, exact: true, at: start)
        }
    }

    /// Refuses a product whose size (before reduction) is far past the digit limit, before computing it.
    func checkProduct(_ a: Rational, _ b: Rational, at offset: Int) throws(CalculatorError) {
        if a.numerator.magnitude.bitWidth + b.numerator.magnitude.bitWidth > maxBits + 64
            || a.denominator.magnitude.bitWidth + b.denominator.magnitude.bitWidth > 2 * maxBits
        {
            throw CalculatorError("a number in the computation would exceed \(maxDigits) digits", at: offset)
        }
    }

    func power(_ base: Value, _ exponent: Value, at offset: Int) throws(CalculatorError) -> Value {
        guard exponent.rational.isInteger else {
            throw CalculatorError("the exponent must be an integer; for roots use sqrt(x)", at: offset)
        }
        let b = base.rational
        let e = exponent.rational.numerator
        if b.isZero {
            guard e >= 0 else { throw CalculatorError("0 to a negative power is a division by zero", at: offset) }
            return Value(rational: e == 0 ? Rational(1) : b, exact: base.exact)
        }
        if b.bitWidth <= 1, b.denominator == 1 {  // 1 and -1
            return Value(rational: e.magnitude % 2 == 0 ? Rational(1) : b, exact: base.exact && exponent.exact)
        }
        guard e.magnitude.bitWidth < 40, Int(e.magnitude) * max(b.bitWidth - 1, 1) <= maxBits else {
            throw CalculatorError(
                "the result of ^\(e.magnitude.bitWidth < 40 ? e.description : "(a huge exponent)") would exceed \(maxDigits) digits",
                at: offset)
        }
        let n = Int(e.magnitude)
        let raised = Rational(b.numerator.power(n), b.denominator.power(n))
        return try checked(e < 0 ? Rational(1) / raised : raised, exact: base.exact && exponent.exact, at: offset)
    }

    func factorial(_ value: Value, at offset: Int) throws(CalculatorError) -> Value {
        let r = value.rational
        guard r.isInteger, !r.isNegative else { throw CalculatorError("factorial needs a non-negative integer", at: offset) }
        guard r.numerator <= BigInt(maxFactorial) else {
            throw CalculatorError("factorial is limited to \(maxFactorial)!", at: offset)
        }
        var product = BigInt(1)
        var k = BigInt(2)
        while k <= r.numerator {
            product *= k
            k += 1
        }
        return Value(rational: Rational(product), exact: value.exact)
    }

    func constant(_ name: String, at offset: Int) throws(CalculatorError) -> Value {
        switch name {
        case "pi", "π":
            return Value(rational: Rational(decimal: "3.14159265358979323846264338327950288419716939937510")!, exact: false)
        case "e":
            return Value(rational: Rational(decimal: "2.71828182845904523536028747135266249775724709369995")!, exact: false)
        default:
            throw CalculatorError(
                "unknown name \"\(name)\"; known constants are pi and e, functions \(Self.functions.joined(separator: ", "))", at: offset)
        }
    }

    static let functions = ["sqrt", "abs", "min", "max", "floor", "ceil", "round", "factorial", "gcd"]

    func call(_ name: String, _ args: [Value], at offset: Int) throws(CalculatorError) -> Value {
        func arity(_ n: Int) throws(CalculatorError) {
            guard args.count == n else {
                throw CalculatorError("\(name) takes \(n) argument\(n == 1 ? "" : "s"), got \(args.count)", at: offset)
            }
        }
        let exact = args.allSatisfy(\.exact)
        switch name {
        case "sqrt":
            try arity(1)
            return try sqrt(args[0], at: offset)
        case "abs":
            try arity(1)
            return Value(rational: args[0].rational.isNegative ? -args[0].rational : args[0].rational, exact: exact)
        case "min", "max":
            guard !args.isEmpty else { throw CalculatorError("\(name) needs at least one argument", at: offset) }
            let pick = name == "min" ? args.min { $0.rational < $1.rational }! : args.max { $0.rational < $1.rational }!
            return Value(rational: pick.rational, exact: exact)
        case "floor":
            try arity(1)
            return Value(rational: Rational(args[0].rational.floor), exact: exact)
        case "ceil":
            try arity(1)
            return Value(rational: Rational(args[0].rational.ceil), exact: exact)
        case "round":
            guard args.count == 1 || args.count == 2 else {
                throw CalculatorError("round takes 1 or 2 arguments (value, digits)", at: offset)
            }
            guard args.count == 2 else { return Value(rational: Rational(args[0].rational.rounded), exact: exact) }
            guard args[1].rational.isInteger, let digits = Int(exactly: args[1].rational.numerator), (0...1000).contains(digits) else {
                throw CalculatorError("round's digits must be an integer from 0 to 1000", at: offset)
            }
            let scale = Rational(BigInt(10).power(digits))
            return Value(rational: Rational((args[0].rational * scale).rounded) / scale, exact: exact)
        case "factorial":
            try arity(1)
            return try factorial(args[0], at: offset)
        case "gcd":
            try arity(2)
            guard args.allSatisfy(\.rational.isInteger) else { throw CalculatorError("gcd needs integers", at: offset) }
            return Value(
                rational: Rational(
                    BigInt(args[0].rational.numerator.magnitude.greatestCommonDivisor(with: args[1].rational.numerator.magnitude))),
                exact: exact)
        default:
            throw CalculatorError("unknown function \"\(name)\"; known functions are \(Self.functions.joined(separator: ", "))", at: offset)
        }
    }

    func sqrt(_ value: Value, at offset: Int) throws(CalculatorError) -> Value {
        let r = value.rational
        guard !r.isNegative else { throw CalculatorError("sqrt of a negative number is not real", at: offset) }
        let n = r.numerator.magnitude.squareRoot()
        let d = r.denominator.magnitude.squareRoot()
        if n * n == r.numerator.magnitude, d * d == r.denominator.magnitude {
            return Value(rational: Rational(BigInt(n), BigInt(d)), exact: value.exact)
        }
        let scale = BigUInt(10).power(approximationDigits)
        let root = (r.numerator.magnitude * scale * scale / r.denominator.magnitude).squareRoot()
        return Value(rational: Rational(BigInt(root), BigInt(scale)), exact: false)
    }
}
