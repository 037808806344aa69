import Testing

@testable import AnimaCore

@Suite("JSON values")
struct JSONValueTests {
    @Test func parsesAndPrintsKeepingKeyOrder() throws {
        let text = #"{"b":1,"a":[true,false,null],"c":{"z":"x\ny","y":-1.5e3}}"#
        let value = try JSONValue(parsing: text)
        #expect(value.jsonText == #"{"b":1,"a":[true,false,null],"c":{"z":"x\ny","y":-1500}}"#)
        #expect(value["c"]?["z"] == "x\ny")
        #expect(value.objectValue?.keys == ["b", "a", "c"])
    }

    @Test func unicodeEscapesAndSurrogates() throws {
        #expect(try JSONValue(parsing: #""\u00e9\ud83d\ude00""#) == .string("é😀"))
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: #""\ud83d""#) }
    }

    @Test(arguments: [
        ("", "unexpected end of input"),
        ("{", "expected a string key"),
        ("[1,]", "unexpected character"),
        ("01", "leading zeros"),
        ("{\"a\" 1}", "expected ':'"),
        ("\"abc", "unterminated string"),
        ("tru", "unexpected end of input"),
        ("trux", "invalid literal"),
        ("1 2", "unexpected text after"),
        ("\"a\u{01}\"", "control character"),
        ("1e999", "out of range"),
    ])
    func rejectsMalformedText(text: String, reason: String) {
        let error = #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
    }

    @Test func hostileNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let error = #expect(throws: JSONParseError.self) { try JSONValue(parsing: deep) }
        #expect(error?.reason.contains("nesting") == true)
    }

    @Test func escapesWhatJSONRequires() {
        let value = JSONValue.string("quote \" backslash \\ tab \t bell \u{07}")
        #expect(value.jsonText == #""quote \" backslash \\ tab \t bell \u0007""#)
        #expect((try? JSONValue(parsing: value.jsonText)) == value)
    }
}

@Suite("JSON Schema")
struct JSONSchemaTests {
    let person: JSONValue = [
        "type": "object",
        "properties": [
            "name": ["type": "string", "minLength": 1, "maxLength": 5],
            "age": ["type": "integer", "minimum": 0, "maximum": 150],
            "tags": ["type": "array", "items": ["enum": ["a", "b"]], "maxItems": 2],
            "pet": ["$ref": "#/$defs/pet"],
        ],
        "required": ["name", "age"],
        "additionalProperties": false,
        "$defs": ["pet": ["type": "object", "properties": ["kind": ["const": "cat"]], "required": ["kind"]]],
    ]

    @Test func acceptsValidValues() throws {
        let schema = try JSONSchema(person)
        #expect(schema.violations(of: ["name": "Ann", "age": 30, "tags": ["a"], "pet": ["kind": "cat"]]).isEmpty)
    }

    @Test func reportsEachViolationWithItsPath() throws {
        let schema = try JSONSchema(person)
        let found = schema.violations(of: ["name": "Annabel", "age": 1.5, "tags": ["a", "c", "b"], "pet": ["kind": "dog"], "x": 1])
        let paths = Set(found.map(\.path))
        #expect(paths == ["/name", "/age", "/tags", "/tags/1", "/pet/kind", "/x"])
        #expect(schema.violations(of: ["age": 3]).map(\.message) == ["missing required property \"name\""])
        #expect(schema.violations(of: "text").first?.message == "expected object, got string")
    }

    @Test(
        arguments: [
            (["type": "strng"] as JSONValue, "/type", "unknown type"),
            (["properties": ["a": ["type": "integer", "minimun": 1]]], "/properties/a/minimun", "unknown or unsupported keyword"),
            (["required": "a"], "/required", "array of property names"),
            (["minItems": -1], "/minItems", "non-negative integer"),
            (["minLength": 5, "maxLength": 2], "/minLength", "larger than maxLength"),
            (["$ref": "#/$defs/missing"], "/$ref", "does not name a schema"),
            (["enum": []], "/enum", "at least one value"),
            (["pattern": "("], "/pattern", "valid regular expression"),
            (42, "", "must be an object or a boolean"),
        ] as [(JSONValue, String, String)])
    func rejectsInvalidSchemas(schema: JSONValue, path: String, reason: String) {
        let error = #expect(throws: JSONSchemaError.self) { try JSONSchema(schema) }
        #expect(error?.path == path)
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
    }

    @Test func schemaTextThatIsNotJSON() {
        let error = #expect(throws: JSONSchemaError.self) { try JSONSchema(parsing: "{type: object}") }
        #expect(error?.description.contains("not JSON") == true)
    }

    @Test func oneOfNeedsExactlyOneMatch() throws {
        let schema = try JSONSchema(["oneOf": [["type": "integer"], ["type": "number"]]])
        #expect(schema.violations(of: 1.5).isEmpty)
        #expect(!schema.violations(of: 1).isEmpty)  // an integer is also a number
    }
}
