import AnimaCore
import Foundation
import Testing

@testable import AnimaServer

@Suite("TOML subset parser")
struct TOMLDocumentTests {
    @Test func readsEveryKindOfValueTheSubsetHas() throws {
        let table = try TOMLDocument.parse(
            #"""
            # a comment
            name = "an\t\"escaped\" \u00e9 string"   # trailing comment
            path = 'C:\literal'
            "quoted key" = 1_000
            hex = 0xff
            negative = -42
            ratio = 6.5e-1
            big = inf
            on = true
            off = false
            list = [
              1, 2,  # comment inside
              3,
            ]
            nested = [["a", 'b'], []]
            dotted.key = "x"

            [server]
            port = 8420
            [server.tls]
            enabled = false
            """#)
        #expect(table["name"] == .string("an\t\"escaped\" é string"))
        #expect(table["path"] == .string(#"C:\literal"#))
        #expect(table["quoted key"] == .integer(1000))
        #expect(table["hex"] == .integer(255))
        #expect(table["negative"] == .integer(-42))
        #expect(table["ratio"] == .float(0.65))
        #expect(table["big"] == .float(.infinity))
        #expect(table["on"] == .bool(true) && table["off"] == .bool(false))
        #expect(table["list"] == .array([.integer(1), .integer(2), .integer(3)]))
        #expect(table["nested"] == .array([.array([.string("a"), .string("b")]), .array([])]))
        guard case .table(let dotted)? = table["dotted"], case .table(let server)? = table["server"], case .table(let tls)? = server["tls"]
        else {
            Issue.record("tables missing: \(table)")
            return
        }
        #expect(dotted["key"] == .string("x"))
        #expect(server["port"] == .integer(8420))
        #expect(tls["enabled"] == .bool(false))
        #expect(table.keys.prefix(3) == ["name", "path", "quoted key"])
        #expect(try TOMLDocument.parse("").keys.isEmpty)
        #expect(try TOMLDocument.parse("a = 1\r\nb = 2\r\n")["b"] == .integer(2))
    }

    /// Every malformed input is an error with the line and column where it went wrong, never a trap.
    @Test(arguments: [
        ("port = = 3", 1, 8, "not a value"),
        ("a = 1\nb = \"open", 2, 5, "not closed"),
        ("a = 1\n\nport 3", 3, 6, "expected \"=\""),
        ("a = 1\na = 2", 2, 1, "defined twice"),
        ("[t]\nx = 1\n[t]", 3, 1, "defined twice"),
        ("a = 1 2", 1, 7, "end of the line"),
        ("a = [1, 2", 1, 10, "not closed"),
        ("a = 99999999999999999999", 1, 5, "out of range"),
        ("a = { b = 1 }", 1, 5, "inline tables"),
        ("a = \"\"\"x\"\"\"", 1, 5, "multi-line"),
        ("[[servers]]", 1, 1, "arrays of tables"),
        ("a = 1979-05-27", 1, 5, "dates"),
        ("a = hello", 1, 5, "strings need quotes"),
        ("a = \"\\q\"", 1, 6, "unknown escape"),
        ("a = \"\\uD800\"", 1, 6, "Unicode scalar"),
        ("a = 1\na.b = 2", 2, 1, "already an integer"),
        ("a = 01", 1, 5, "not a value"),
        ("a = 1__0", 1, 5, "not a value"),
        ("= 1", 1, 1, "expected a key"),
        ("a =", 1, 4, "expected a value"),
        ("a = \"x\u{01}\"", 1, 7, "control character"),
    ])
    func malformedInputIsALocatedError(text: String, line: Int, column: Int, message: String) {
        let error = #expect(throws: TOMLError.self) { try TOMLDocument.parse(text) }
        #expect(error?.line == line && error?.column == column, "\(String(describing: error))")
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    /// Random bytes and random edits of a valid file: the parser answers or refuses, never traps.
    @Test func arbitraryInputNeverTraps() {
        var generator = SplitMix64(seed: 14)  // fixed, so a failure repeats
        let valid = Array("a = [1, \"x\", 'y', 2.5e3, true]\n[t.u]\nk = -0x1f # c\n".unicodeScalars)
        let alphabet = Array("ab=[]{}\"'\\#.,\n\r\t 0123456789xeE+-_\u{0}\u{7f}é".unicodeScalars)
        for _ in 0..<3000 {
            var scalars = valid
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                let position = Int.random(in: 0...scalars.count, using: &generator)
                let scalar = alphabet.randomElement(using: &generator)!
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: scalars.insert(scalar, at: position)
                case 1 where position < scalars.count: scalars.remove(at: position)
                default: if position < scalars.count { scalars[position] = scalar }
                }
            }
            _ = try? TOMLDocument.parse(String(String.UnicodeScalarView(scalars)))
        }
    }
}
