import AnimaCore
import ArgumentParser
import Foundation

/// The one parser for every numeric command-line flag: a declared range, checked while the
/// arguments are parsed, so `--max-seconds 1e300`, `--slots 256` or `--threads nan` stop
/// with a usage error that names the flag and the range, before anything is loaded.
///
/// Every numeric `@Option` of every command is declared with `help:` and `transform:` from
/// here; the help text ends with the range (`(range 1 to 255)`), which is also how
/// `NumericFlagTests` finds every numeric flag in `anima --experimental-dump-help`.
package enum NumericFlag {
    /// Help text that states the flag's range, for people and for the flag tests.
    package static func help<T: FixedWidthInteger>(_ abstract: String, _ range: ClosedRange<T>, valueName: String? = nil) -> ArgumentHelp {
        ArgumentHelp("\(abstract) (range \(range.lowerBound) to \(range.upperBound))", valueName: valueName)
    }

    package static func help(_ abstract: String, _ range: ClosedRange<Double>, valueName: String? = nil) -> ArgumentHelp {
        ArgumentHelp("\(abstract) (range \(text(range.lowerBound)) to \(text(range.upperBound)))", valueName: valueName)
    }

    /// A whole number in `range`: decimal digits only, so `1e3`, `0x10` and `inf` are refused.
    package static func integer<T: FixedWidthInteger & Sendable>(_ range: ClosedRange<T>) -> @Sendable (String) throws -> T {
        { text in
            do { return try WireNumber.integer(text: text, field: "the value", in: range) } catch let error as WireNumberError {
                throw Invalid(error)
            }
        }
    }

    /// A finite decimal number in `range`; `inf`, `nan` and hexadecimal floats are refused.
    package static func number(_ range: ClosedRange<Double>) -> @Sendable (String) throws -> Double {
        { text in
            do { return try WireNumber.number(text: text, field: "the value", in: range) } catch let error as WireNumberError {
                throw Invalid(error)
            }
        }
    }

    /// Comma-separated whole numbers, each in `range`, at least one.
    package static func integers(_ range: ClosedRange<Int>) -> @Sendable (String) throws -> [Int] {
        { text in
            let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            var out: [Int] = []
            for part in parts {
                do { out.append(try WireNumber.integer(text: part, field: "each value", in: range)) } catch let error as WireNumberError {
                    throw Invalid(error)
                }
            }
            return out
        }
    }

    package static func text(_ x: Double) -> String {
        x.rounded() == x && abs(x) < 1e15 ? String(Int64(x)) : "\(x)"
    }

    /// What ArgumentParser prints after "The value '…' is invalid for '--flag': ".
    struct Invalid: Error, CustomStringConvertible {
        let error: WireNumberError
        init(_ error: WireNumberError) { self.error = error }
        var description: String { "\(error.field) must be \(error.expected) (\(error.given) \(error.reason))" }
    }
}
