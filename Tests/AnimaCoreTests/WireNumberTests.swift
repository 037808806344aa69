import Testing

@testable import AnimaCore

/// The one conversion for numbers from outside: what a hostile sender can put in a JSON
/// number or a flag is refused with a message, never a trap.
@Suite("Wire numbers")
struct WireNumberTests {
    /// Out of range for every 64-bit type (18446744073709551617 reads as 2^64).
    static let hostile: [Double] = [1e300, -1e300, 18_446_744_073_709_551_617, -18_446_744_073_709_551_617, .infinity, -.infinity, .nan]

    @Test(arguments: hostile)
    func hostileDoublesAreRefusedForEveryIntegerType(value: Double) {
        #expect(throws: WireNumberError.self) { try WireNumber.integer(value, field: "f", in: Int.min...Int.max) }
        #expect(throws: WireNumberError.self) { try WireNumber.integer(value, field: "f", in: Int64.min...Int64.max) }
        #expect(throws: WireNumberError.self) { try WireNumber.integer(value, field: "f", in: UInt32.min...UInt32.max) }
        #expect(throws: WireNumberError.self) { try WireNumber.integer(value, field: "f", in: UInt64.min...UInt64.max) }
    }

    @Test func twoToThe63IsRefusedWhereItDoesNotFit() throws {
        // 9223372036854775808 (2^63) would trap in Int64(_:); it fits a UInt64.
        #expect(throws: WireNumberError.self) { try WireNumber.integer(9_223_372_036_854_775_808, field: "f", in: Int64.min...Int64.max) }
        #expect(throws: WireNumberError.self) { try WireNumber.integer(9_223_372_036_854_775_808, field: "f", in: Int.min...Int.max) }
        #expect(try WireNumber.integer(9_223_372_036_854_775_808, field: "f", in: UInt64.min...UInt64.max) == 1 << 63)
        // -9223372036854775809 is read as the double -2^63, which is Int64.min: exact, so accepted.
        #expect(try WireNumber.integer(-9_223_372_036_854_775_809, field: "f", in: Int64.min...Int64.max) == .min)
        #expect(throws: WireNumberError.self) {
            try WireNumber.integer(-9_223_372_036_854_775_809, field: "f", in: UInt32.min...UInt32.max)
        }
    }

    @Test func theErrorNamesTheFieldTheRangeAndWhatCame() {
        let error = #expect(throws: WireNumberError.self) { try WireNumber.integer(1e300, field: "max_tokens", in: 1...100) }
        #expect(error?.description == "max_tokens must be an integer from 1 to 100; 1e+300 is out of range")
        let fraction = #expect(throws: WireNumberError.self) { try WireNumber.integer(2.5, field: "n", in: 1...5) }
        #expect(fraction?.problem == .fractional)
        let nan = #expect(throws: WireNumberError.self) { try WireNumber.number(.nan, field: "t", in: 0...2) }
        #expect(nan?.description == "t must be a number from 0 to 2; NaN is not a finite number")
        let text = #expect(throws: WireNumberError.self) { try WireNumber.integer(JSONValue.string("7"), field: "k", in: 1...9) }
        #expect(text?.problem == .notANumber)
    }

    @Test func valuesInRangeComeThroughExactly() throws {
        #expect(try WireNumber.integer(9_007_199_254_740_992, field: "f", in: Int64.min...Int64.max) == 9_007_199_254_740_992)
        #expect(try WireNumber.integer(-9_223_372_036_854_775_808, field: "f", in: Int64.min...Int64.max) == .min)
        #expect(try WireNumber.integer(4_294_967_295, field: "f", in: UInt32.min...UInt32.max) == .max)
        #expect(try WireNumber.integer(JSONValue.null, field: "f", in: 1...2) == nil)
        #expect(try WireNumber.number(0.5, field: "f", in: 0...1) == 0.5)
    }

    @Test(arguments: [
        "1e300", "-1e300", "9223372036854775808", "18446744073709551617", "-9223372036854775809", "nan", "NaN", "inf", "-inf", "Infinity",
        "1e400", "0x10", "1.5", "", "+", "12a", " 1",
    ])
    func hostileTextIsRefused(text: String) {
        #expect(throws: WireNumberError.self) { try WireNumber.integer(text: text, field: "--slots", in: 1...255) }
        #expect(throws: WireNumberError.self) { try WireNumber.integer(text: text, field: "--seed", in: UInt32.min...UInt32.max) }
    }

    @Test(arguments: ["nan", "inf", "-inf", "infinity", "1e400", "-1e400", "0x1p3", "1e300", "abc", ""])
    func hostileTextIsRefusedAsANumber(text: String) {
        #expect(throws: WireNumberError.self) { try WireNumber.number(text: text, field: "--max-seconds", in: 0.001...86_400) }
    }

    @Test func textInRangeParses() throws {
        #expect(try WireNumber.integer(text: "255", field: "f", in: 1...255) == 255)
        #expect(try WireNumber.integer(text: "-20", field: "f", in: -20...20) == -20)
        #expect(try WireNumber.integer(text: "18446744073709551615", field: "f", in: UInt64.min...UInt64.max) == .max)
        #expect(try WireNumber.number(text: "2.5e1", field: "f", in: 0...100) == 25)
    }

    @Test func clampingNeverTraps() {
        #expect(WireNumber.clamped(1e300, to: Int64.min...Int64.max) == .max)
        #expect(WireNumber.clamped(9_223_372_036_854_775_808, to: Int64.min...Int64.max) == .max)
        #expect(WireNumber.clamped(-1e300, to: 0...10) == 0)
        #expect(WireNumber.clamped(.nan, to: 3...10) == 3)
        #expect(WireNumber.clamped(7.9, to: 0...10) == 7)
    }
}
