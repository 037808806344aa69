import AnimaCore
import Foundation
import Testing

@testable import AnimaLlama
@testable import AnimaProcessor

@Suite("JSON Schema to GBNF")
struct JSONSchemaGrammarTests {
    /// The alternatives as a regular expression (they use only digits, classes and counts).
    func regex(_ alternatives: [String]) throws -> NSRegularExpression {
        let body = alternatives.map { $0.replacingOccurrences(of: "\"", with: "").replacingOccurrences(of: " ", with: "") }
        return try NSRegularExpression(pattern: "^(" + body.joined(separator: "|") + ")$")
    }

    func matches(_ r: NSRegularExpression, _ s: String) -> Bool {
        r.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }

    @Test(arguments: [(0, 0), (0, 9), (3, 7), (0, 100), (7, 1234), (10, 99), (95, 1005), (100, 199), (123, 456), (1, 30)])
    func integerRangesMatchExactlyTheirMembers(lo: Int64, hi: Int64) throws {
        let r = try regex(IntegerRange.alternatives(lo, hi))
        for n in 0...1500 {
            #expect(matches(r, String(n)) == (lo...hi).contains(Int64(n)), "\(n) in [\(lo), \(hi)]")
        }
        #expect(!matches(r, "0" + String(max(lo, 1))), "leading zero accepted")
    }

    @Test func randomRangesAgreeWithArithmetic() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<40 {
            let a = Int64.random(in: 0...100_000, using: &rng), b = Int64.random(in: 0...100_000, using: &rng)
            let (lo, hi) = (min(a, b), max(a, b))
            let r = try regex(IntegerRange.alternatives(lo, hi))
            for probe in [lo - 1, lo, lo + 1, (lo + hi) / 2, hi - 1, hi, hi + 1]
                + (0..<20).map({ _ in Int64.random(in: 0...100_001, using: &rng) }) where probe >= 0
            {
                #expect(matches(r, String(probe)) == (lo...hi).contains(probe), "\(probe) in [\(lo), \(hi)]")
            }
        }
    }

    @Test func objectPropertiesFollowTheSchemaOrder() throws {
        let schema = try JSONSchema([
            "type": "object",
            "properties": ["b": ["type": "boolean"], "a": ["type": "integer"]],
            "required": ["b"],
        ])
        let grammar = try JSONSchemaGrammar(schema: schema).text
        #expect(grammar.contains("root ::= "))
        let b = try #require(grammar.range(of: #"\"b\""#)), a = try #require(grammar.range(of: #"\"a\""#))
        #expect(b.lowerBound < a.lowerBound)
    }

    @Test func strictModeRefusesWhatAGrammarCannotEnforce() throws {
        for schema: JSONValue in [["type": "string", "pattern": "a+"], ["type": "number", "minimum": 0.5]] {
            let error = #expect(throws: JSONSchemaError.self) { try JSONSchemaGrammar(schema: JSONSchema(schema), mode: .strict) }
            #expect(error?.reason.contains("cannot be enforced") == true)
            #expect(throws: Never.self) { try JSONSchemaGrammar(schema: JSONSchema(schema), mode: .relaxed) }
        }
    }

    @Test func impossibleSchemasAreErrors() throws {
        #expect(throws: JSONSchemaError.self) { try JSONSchemaGrammar(schema: JSONSchema(false)) }
        #expect(throws: JSONSchemaError.self) {
            try JSONSchemaGrammar(schema: JSONSchema(["type": "integer", "minimum": 5, "maximum": 4.5]))
        }
    }

    @Test func literalsEscapeQuotesAndControls() {
        #expect(JSONSchemaGrammar.literal("a\"b\\c\n\u{01}") == #""a\"b\\c\n\x01""#)
    }
}

/// Issue 14 (C2, L5): bounds a client controls must give a grammar or a clear error,
/// never a trap in `Int64(_:)` and never a grammar too large for the engine.
@Suite("JSON Schema to GBNF: hostile bounds")
struct HostileSchemaBoundsTests {
    @Test(arguments: [1e300, -1e300, 9_223_372_036_854_775_808, -9_223_372_036_854_775_809, 1.7e308])
    func hugeIntegerBoundsCompile(bound: Double) throws {
        for key in ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"] {
            let schema = try JSONSchema(.object(["type": "integer", key: .number(bound)]))
            // Either a grammar or "no integer satisfies these bounds"; reaching here without a trap is the point.
            do { _ = try JSONSchemaGrammar(schema: schema) } catch { #expect(error.reason.contains("no integer")) }
        }
    }

    @Test func aMinimumOfMinus1e300MeansNoLowerBound() throws {
        let grammar = try JSONSchemaGrammar(schema: JSONSchema(["type": "integer", "minimum": -1e300, "maximum": 5])).text
        #expect(grammar.contains("\"-\""), "negative numbers are allowed: \(grammar)")
    }

    @Test(arguments: ["minItems", "minLength"])
    func aHugeLowerCountIsAClearError(key: String) throws {
        let type: JSONValue = key == "minItems" ? "array" : "string"
        let schema = try JSONSchema(.object(["type": type, key: 100_000_000]))
        for mode in [JSONSchemaGrammar.Mode.strict, .relaxed] {
            let error = #expect(throws: JSONSchemaError.self) { try JSONSchemaGrammar(schema: schema, mode: mode) }
            #expect(error?.description.contains("\(key) 100000000 is too large") == true, "\(String(describing: error))")
        }
    }

    @Test func aHugeUpperCountIsRefusedWhenStrictAndLeftToValidationWhenRelaxed() throws {
        let schema = try JSONSchema(["type": "array", "items": ["type": "string", "maxLength": 100_000_000]])
        #expect(throws: JSONSchemaError.self) { try JSONSchemaGrammar(schema: schema, mode: .strict) }
        let relaxed = try JSONSchemaGrammar(schema: schema, mode: .relaxed).text
        #expect(!relaxed.contains("100000000"))
    }

    @Test func manyModestBoundsShareOneBudget() throws {
        var properties = JSONObject()
        for i in 0..<30 { properties["p\(i)"] = ["type": "string", "minLength": 1000] }
        let error = #expect(throws: JSONSchemaError.self) {
            try JSONSchemaGrammar(schema: JSONSchema(["type": "object", "properties": .object(properties)]))
        }
        #expect(error?.description.contains("at most \(JSONSchemaGrammar.maxRepetitions) in all") == true)
        // A schema a person writes stays well inside it.
        _ = try JSONSchemaGrammar(
            schema: JSONSchema(["type": "array", "minItems": 2, "maxItems": 50, "items": ["type": "string", "maxLength": 200]]))
    }
}
