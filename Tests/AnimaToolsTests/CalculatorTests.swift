import AnimaCore
import Testing

@testable import AnimaTools

@Suite("Calculator")
struct CalculatorTests {
    let calculator = Calculator()

    func value(_ expression: String) throws -> String {
        try calculator.evaluate(expression).decimal(digits: 30)
    }

    @Test(arguments: [
        ("2^100", "1267650600228229401496703205376"),
        ("0.1 + 0.2", "0.3"),
        ("2 + 3 * 4", "14"),
        ("(2 + 3) * 4", "20"),
        ("-2^2", "-4"),
        ("2^3^2", "512"),
        ("2^-2", "0.25"),
        ("-(3 - 5) * -1", "-2"),
        ("10 % 3", "1"),
        ("7 / 2", "3.5"),
        ("5!", "120"),
        ("factorial(20)", "2432902008176640000"),
        ("sqrt(16)", "4"),
        ("sqrt(0.25)", "0.5"),
        ("abs(-5.5)", "5.5"),
        ("max(1, 7, 3)", "7"),
        ("min(4, -2.5)", "-2.5"),
        ("floor(-2.5)", "-3"),
        ("ceil(2.1)", "3"),
        ("round(2.5)", "3"),
        ("round(-2.5)", "-3"),
        ("round(3.14159, 2)", "3.14"),
        ("gcd(12, 18)", "6"),
        ("1.5e3 + 1_000", "2500"),
        ("99999999999999999999 * 99999999999999999999", "9999999999999999999800000000000000000001"),
    ])
    func exactResults(_ expression: String, _ expected: String) throws {
        #expect(try value(expression) == expected)
    }

    @Test func thirdsStayExactAsFractions() throws {
        let result = try calculator.evaluate("1/3 + 1/6")
        #expect(result.fraction == "1/2")
        let third = try calculator.evaluate("1/3")
        #expect(third.fraction == "1/3")
        #expect(third.exact)
        #expect(!third.isExactDecimal())
        #expect(try calculator.evaluate("1/3 * 3").decimal() == "1")
    }

    @Test func irrationalResultsAreMarkedInexact() throws {
        let root = try calculator.evaluate("sqrt(2)")
        #expect(!root.exact)
        #expect(root.decimal(digits: 20) == "1.41421356237309504880")
        #expect(try calculator.evaluate("pi").decimal(digits: 10) == "3.1415926535")
    }

    @Test(arguments: [
        ("1/0", "division by zero"),
        ("2 +", "ends where a number was expected"),
        ("(1 + 2", "expected \")\""),
        ("foo(1)", "unknown function"),
        ("x + 1", "unknown name"),
        ("__import__('os').system('id')", "unexpected \"_\""),
        ("2 ^ 0.5", "exponent must be an integer"),
        ("sqrt(-1)", "not real"),
        ("(-3)!", "non-negative integer"),
        ("1 2", "unexpected"),
        ("1 ; 2", "unexpected"),
    ])
    func badExpressionsAreClearErrors(_ expression: String, _ message: String) {
        #expect {
            try calculator.evaluate(expression)
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test(arguments: [
        "9^9^9^9",
        "2^1000000000000",
        "10^20000",
        "(10^9000) * (10^9000)",
        "5001!",
        "factorial(100000000000000000000)",
        String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000),
        String(repeating: "-", count: 5000) + "1",
        String(repeating: "2^", count: 5000) + "2",
    ])
    func hostileInputIsRefusedQuickly(_ expression: String) {
        let started = ContinuousClock.now
        #expect(throws: CalculatorError.self) { try calculator.evaluate(expression) }
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test func aMegabyteOfInputIsRefusedQuickly() {
        let started = ContinuousClock.now
        #expect { try calculator.evaluate(String(repeating: "1+", count: 600_000) + "1") } throws: { "\($0)".contains("limit is 10000") }
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test func theToolValidatesArgumentsAndReportsErrors() async throws {
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let context = try fixture.context()
        let tool = CalculatorTool()
        let ok = await tool.call(["expression": "2^64"], in: context)
        #expect(!ok.isError)
        #expect(ok.text == "18446744073709551616")
        #expect(ok.value["exact"] == .bool(true))
        let third = await tool.call(["expression": "1/3"], in: context)
        #expect(third.text.hasPrefix("1/3 ≈ 0.333333"))
        let missing = await tool.call([:], in: context)
        #expect(missing.isError)
        #expect(missing.text.contains("invalid arguments for calculator"))
        #expect(missing.text.contains("expression"))
        let wrongType = await tool.call(["expression": 42], in: context)
        #expect(wrongType.isError)
        let huge = await tool.call(["expression": .string(String(repeating: "1", count: 1 << 20))], in: context)
        #expect(huge.isError)
        #expect(huge.text.contains("invalid arguments"))
        let divide = await tool.call(["expression": "1/0"], in: context)
        #expect(divide.isError)
        #expect(divide.text.contains("division by zero"))
    }
}
