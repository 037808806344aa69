/// The one audited conversion for a number that arrives from outside: a JSON request body,
/// a query string, a tool's arguments, a provider's answer, a command-line flag.
///
/// JSON numbers are doubles, and Swift's `Int(_:)`, `Int64(_:)` and `UInt32(_:)` trap on a
/// double they cannot hold (1e300, 2^63, infinity, NaN): one hostile request would stop the
/// daemon for every user. Every reader declares the field's name and its range here, and
/// gets the value or a `WireNumberError` that names the field, the range and what was given.
public enum WireNumber {
    /// An integer in `range`, from a JSON number. Fractions, NaN, infinities and values
    /// outside `range` are refused; none of them can trap.
    public static func integer<T: FixedWidthInteger>(_ value: Double, field: String, in range: ClosedRange<T>)
        throws(WireNumberError) -> T
    {
        guard value.isFinite else {
            throw WireNumberError(field: field, expected: describe(range), given: describe(value), problem: .notFinite)
        }
        guard value.rounded(.towardZero) == value else {
            throw WireNumberError(field: field, expected: describe(range), given: describe(value), problem: .fractional)
        }
        // `init(exactly:)` answers nil, never traps, for a value the type cannot hold.
        guard let n = T(exactly: value), range.contains(n) else {
            throw WireNumberError(field: field, expected: describe(range), given: describe(value), problem: .outOfRange)
        }
        return n
    }

    /// A finite number in `range`, from a JSON number.
    public static func number(_ value: Double, field: String, in range: ClosedRange<Double>) throws(WireNumberError) -> Double {
        guard value.isFinite else {
            throw WireNumberError(field: field, expected: describe(range), given: describe(value), problem: .notFinite)
        }
        guard range.contains(value) else {
            throw WireNumberError(field: field, expected: describe(range), given: describe(value), problem: .outOfRange)
        }
        return value
    }

    /// An integer in `range`, from text (a query parameter, a path segment, a flag).
    /// Accepts decimal digits with an optional sign; `1e3`, `0x10`, `+inf` and `nan` are refused.
    public static func integer<T: FixedWidthInteger>(text: some StringProtocol, field: String, in range: ClosedRange<T>)
        throws(WireNumberError) -> T
    {
        let given = String(text.prefix(40))
        let digits = text.first == "-" || text.first == "+" ? text.dropFirst() : text[...]
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            let problem: WireNumberError.Problem = Double(String(text)).map { $0.isFinite ? .fractional : .notFinite } ?? .notANumber
            throw WireNumberError(field: field, expected: describe(range), given: given, problem: problem)
        }
        guard let n = T(String(text)), range.contains(n) else {
            throw WireNumberError(field: field, expected: describe(range), given: given, problem: .outOfRange)
        }
        return n
    }

    /// A finite number in `range`, from text. `inf`, `nan` and hexadecimal floats are refused.
    public static func number(text: some StringProtocol, field: String, in range: ClosedRange<Double>) throws(WireNumberError) -> Double {
        let given = String(text.prefix(40))
        let decimal = text.utf8.allSatisfy { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || "+-.eE".utf8.contains($0) }
        guard decimal, let value = Double(String(text)) else {
            let problem: WireNumberError.Problem = Double(String(text)) != nil ? .notFinite : .notANumber
            throw WireNumberError(field: field, expected: describe(range), given: given, problem: problem)
        }
        return try number(value, field: field, in: range)
    }

    /// A JSON value that must be an integer in `range`; `nil` and JSON null read as absent.
    public static func integer<T: FixedWidthInteger>(_ value: JSONValue?, field: String, in range: ClosedRange<T>)
        throws(WireNumberError) -> T?
    {
        guard let value, value != .null else { return nil }
        guard case .number(let n) = value else {
            throw WireNumberError(field: field, expected: describe(range), given: "a \(value.typeName)", problem: .notANumber)
        }
        return try integer(n, field: field, in: range)
    }

    /// A JSON value that must be a number in `range`; `nil` and JSON null read as absent.
    public static func number(_ value: JSONValue?, field: String, in range: ClosedRange<Double>) throws(WireNumberError) -> Double? {
        guard let value, value != .null else { return nil }
        guard case .number(let n) = value else {
            throw WireNumberError(field: field, expected: describe(range), given: "a \(value.typeName)", problem: .notANumber)
        }
        return try number(n, field: field, in: range)
    }

    /// A double clamped into `range` and converted: for counts a peer reports (tokens used,
    /// bytes written) where a wrong number must not stop Anima. NaN reads as the lower bound.
    public static func clamped<T: FixedWidthInteger>(_ value: Double, to range: ClosedRange<T>) -> T {
        guard !value.isNaN, value > Double(range.lowerBound) else { return range.lowerBound }
        // Double(T.max) may round above T.max (2^63 for Int64): compare against it with `<`.
        guard value < Double(range.upperBound) else { return range.upperBound }
        return T(value.rounded(.towardZero))
    }

    static func describe<T: FixedWidthInteger>(_ range: ClosedRange<T>) -> String {
        "an integer from \(range.lowerBound) to \(range.upperBound)"
    }

    static func describe(_ range: ClosedRange<Double>) -> String {
        "a number from \(JSONValue.format(range.lowerBound)) to \(JSONValue.format(range.upperBound))"
    }

    static func describe(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-infinity" : "infinity" }
        return "\(value)"
    }
}

/// A number from outside that Anima cannot use, with what was expected and what came.
public struct WireNumberError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        case notANumber, notFinite, fractional, outOfRange
    }

    /// The field, parameter or flag, as the sender spelled it.
    public var field: String
    /// The accepted values, in words ("an integer from 1 to 255").
    public var expected: String
    /// What was sent, shortened.
    public var given: String
    public var problem: Problem

    /// Why `given` was refused, in words.
    public var reason: String {
        switch problem {
        case .notANumber: "is not a number"
        case .notFinite: "is not a finite number"
        case .fractional: "is not a whole number"
        case .outOfRange: "is out of range"
        }
    }

    public var description: String { "\(field) must be \(expected); \(given) \(reason)" }
}
