import AnimaCore
import AnimaProcessor

/// Compiles a JSON Schema into a llama.cpp GBNF grammar, so that a constrained model can
/// only write JSON that parses and matches the schema.
///
/// Objects are written with their properties in the schema's order; required properties
/// always appear, optional ones may. Strings, numbers and whitespace are bounded so a
/// finished value is always reachable. Constraints a context-free grammar cannot express
/// (`pattern`, bounds on non-integer numbers, `allOf` with several parts) are refused in
/// `.strict` mode and dropped in `.relaxed` mode, where the caller validates afterwards.
public struct JSONSchemaGrammar: Sendable {
    public enum Mode: Sendable {
        /// Every constraint must be enforced by the grammar, or compilation fails.
        case strict
        /// Constraints the grammar cannot enforce are left to validation after generation.
        case relaxed
    }

    /// The most a grammar may repeat in all (string lengths and item counts added up);
    /// larger bounds are refused with a clear error rather than exhaust the engine.
    public static let maxRepetitions = 20_000

    /// The grammar text; its start symbol is `root`.
    public let text: String

    public init(schema: JSONSchema, mode: Mode = .strict) throws(JSONSchemaError) {
        var compiler = Compiler(schema: schema, mode: mode)
        let root = try compiler.rule(for: schema.root, path: "", hint: "root-value")
        compiler.rules.append(("root", root))
        text = compiler.render()
    }

    /// A grammar whose root is the concatenation of `prefix`, a value of `schema`, and `suffix`.
    init(rootBody: (_ compiler: inout Compiler) throws(JSONSchemaError) -> String, schema: JSONSchema?, mode: Mode)
        throws(JSONSchemaError)
    {
        var compiler = Compiler(schema: schema, mode: mode)
        let body = try rootBody(&compiler)
        compiler.rules.append(("root", body))
        text = compiler.render()
    }

    /// GBNF literal for `s`: quoted, with quotes, backslashes and control characters escaped.
    static func literal(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += "\\x" + String(scalar.value, radix: 16).leftPadded(to: 2)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    struct Compiler {
        var schema: JSONSchema?
        var mode: Mode
        var rules: [(String, String)] = []
        private var names: Set<String> = []
        private var refRules: [String: String] = [:]
        private var needsAny = false
        /// Repetitions left to spend: llama.cpp expands `x{m,n}` into n copies of x, so a
        /// `minItems` of 10^8 would exhaust memory in the engine instead of failing here.
        private var repetitionBudget = JSONSchemaGrammar.maxRepetitions

        init(schema: JSONSchema?, mode: Mode) {
            self.schema = schema
            self.mode = mode
        }

        /// Bounded whitespace between tokens: enough for pretty printing, never endless.
        static let ws = "ws"

        mutating func fresh(_ hint: String) -> String {
            let base = hint.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }.reduce(into: "") { $0.append($1) }
            var name = base.isEmpty ? "r" : base
            var n = 1
            while names.contains(name)
                || ["root", "ws", "string", "char", "integer", "number", "boolean", "null", "value", "object", "array"].contains(name)
            {
                n += 1
                name = "\(base)-\(n)"
            }
            names.insert(name)
            return name
        }

        mutating func add(_ hint: String, _ body: String) -> String {
            let name = fresh(hint)
            rules.append((name, body))
            return name
        }

        func unsupported(_ path: String, _ what: String) throws(JSONSchemaError) {
            if mode == .strict {
                throw JSONSchemaError(
                    path: path,
                    reason: "\(what) cannot be enforced while generating; remove it or validate the output yourself"
                )
            }
        }

        /// A grammar expression that matches exactly the values `node` allows.
        mutating func rule(for node: SchemaNode, path: String, hint: String) throws(JSONSchemaError) -> String {
            if let ref = node.ref {
                // Several schemas (one per tool) may share a grammar: key refs by their schema too.
                let key = "\(schema.map { ObjectIdentifier($0.root).hashValue } ?? 0)|\(ref)"
                if let existing = refRules[key] { return existing }
                let name = fresh(ref.split(separator: "/").last.map(String.init) ?? "ref")
                refRules[key] = name
                guard let target = schema?.definitions[ref] else {
                    throw JSONSchemaError(path: path, reason: "unresolved $ref \(ref)")
                }
                let body = try rule(for: target, path: ref.dropFirst().description, hint: name)
                rules.append((name, body))
                return name
            }
            if let constant = node.constValue { return JSONSchemaGrammar.literal(constant.jsonText) }
            if let values = node.enumValues {
                if values.isEmpty {
                    throw JSONSchemaError(path: path, reason: "no value can satisfy this schema")
                }
                return "(" + values.map { JSONSchemaGrammar.literal($0.jsonText) }.joined(separator: " | ") + ")"
            }
            if let alternatives = node.anyOf ?? node.oneOf {
                var parts: [String] = []
                for (i, alt) in alternatives.enumerated() {
                    parts.append(try rule(for: alt, path: "\(path)/anyOf/\(i)", hint: "\(hint)-\(i)"))
                }
                return "(" + parts.joined(separator: " | ") + ")"
            }
            if let all = node.allOf {
                if all.count == 1 { return try rule(for: all[0], path: "\(path)/allOf/0", hint: hint) }
                try unsupported(path, "allOf with several schemas")
            }
            let types = node.types ?? Self.inferTypes(node)
            guard let types else { return anyValue() }
            let ordered = SchemaNode.JSONType.allCases.filter { types.contains($0) }
            var parts: [String] = []
            for type in ordered where !(type == .integer && types.contains(.number)) {
                parts.append(try rule(for: node, type: type, path: path, hint: hint))
            }
            return parts.count == 1 ? parts[0] : "(" + parts.joined(separator: " | ") + ")"
        }

        /// Without `type`, a schema with object keywords describes an object, and so on.
        static func inferTypes(_ node: SchemaNode) -> Set<SchemaNode.JSONType>? {
            if !node.properties.isEmpty || !node.required.isEmpty { return [.object] }
            if node.items != nil || node.minItems != nil || node.maxItems != nil { return [.array] }
            if node.minLength != nil || node.maxLength != nil || node.pattern != nil { return [.string] }
            if node.minimum != nil || node.maximum != nil { return [.number] }
            return nil
        }

        mutating func rule(for node: SchemaNode, type: SchemaNode.JSONType, path: String, hint: String)
            throws(JSONSchemaError) -> String
        {
            switch type {
            case .null: return "\"null\""
            case .boolean: return "(\"true\" | \"false\")"
            case .string: return try string(node, path: path, hint: hint)
            case .integer: return try integer(node, path: path, hint: hint)
            case .number:
                if node.minimum != nil || node.maximum != nil || node.exclusiveMinimum != nil
                    || node.exclusiveMaximum != nil
                {
                    if Self.isIntegral(node) {
                        // Whole-number bounds on a number: enforce them on the integer part.
                        let intRule = try integer(node, path: path, hint: hint)
                        return intRule
                    }
                    try unsupported(path, "a fractional bound on a number")
                }
                return "number"
            case .array: return try array(node, path: path, hint: hint)
            case .object: return try object(node, path: path, hint: hint)
            }
        }

        static func isIntegral(_ node: SchemaNode) -> Bool {
            [node.minimum, node.maximum, node.exclusiveMinimum, node.exclusiveMaximum].allSatisfy {
                $0 == nil || $0!.rounded(.towardZero) == $0!
            }
        }

        /// Spends `count` repetitions of the budget for the bound `keyword`; an upper bound
        /// past the budget is dropped in `.relaxed` mode (validation checks it afterwards).
        mutating func spend(_ count: Int?, _ keyword: String, path: String, upper: Bool) throws(JSONSchemaError) -> Int? {
            guard let count else { return nil }
            guard count > repetitionBudget else {
                repetitionBudget -= count
                return count
            }
            if upper && mode == .relaxed { return nil }
            throw JSONSchemaError(
                path: "\(path)/\(keyword)",
                reason:
                    "\(keyword) \(count) is too large to enforce while generating (at most \(JSONSchemaGrammar.maxRepetitions) in all); lower it"
            )
        }

        mutating func string(_ node: SchemaNode, path: String, hint: String) throws(JSONSchemaError) -> String {
            if node.pattern != nil { try unsupported(path, "pattern") }
            let min = try spend(node.minLength, "minLength", path: path, upper: false) ?? 0
            let maxLength = try spend(node.maxLength, "maxLength", path: path, upper: true)
            guard min > 0 || maxLength != nil else { return "string" }
            let max = maxLength.map(String.init) ?? ""
            return add("\(hint)-string", "\"\\\"\" char{\(min),\(max)} \"\\\"\"")
        }

        mutating func integer(_ node: SchemaNode, path: String, hint: String) throws(JSONSchemaError) -> String {
            // Bounds beyond what the grammar writes (15 digits) are clamped just past it, so a
            // schema's -1e300 means "no lower bound" instead of trapping in Int64(_:).
            let limit: Int64 = 999_999_999_999_999
            func bound(_ x: Double) -> Int64 { WireNumber.clamped(x, to: (-limit - 1)...(limit + 1)) }
            var lo: Int64? = node.minimum.map { bound($0.rounded(.up)) }
            var hi: Int64? = node.maximum.map { bound($0.rounded(.down)) }
            if let x = node.exclusiveMinimum { lo = max(lo ?? .min, bound(x.rounded(.down)) + 1) }
            if let x = node.exclusiveMaximum { hi = min(hi ?? .max, bound(x.rounded(.up)) - 1) }
            if lo == nil, hi == nil { return "integer" }
            let a = max(lo ?? -limit, -limit), b = min(hi ?? limit, limit)
            guard a <= b else { throw JSONSchemaError(path: path, reason: "no integer satisfies these bounds") }
            var alternatives: [String] = []
            if a < 0 {
                // Negative part: "-" followed by magnitudes in [max(1, -b), -a].
                let magnitudes = IntegerRange.alternatives(max(1, b < 0 ? -b : 1), -a)
                alternatives += magnitudes.map { "\"-\" " + $0 }
            }
            if b >= 0 { alternatives += IntegerRange.alternatives(max(0, a), b) }
            return add("\(hint)-int", alternatives.joined(separator: " | "))
        }

        mutating func array(_ node: SchemaNode, path: String, hint: String) throws(JSONSchemaError) -> String {
            let item =
                try node.items.map { (n) throws(JSONSchemaError) in try rule(for: n, path: "\(path)/items", hint: "\(hint)-item") }
                ?? anyValue()
            let itemRule = item.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" } ? item : add("\(hint)-item", item)
            let min = try spend(node.minItems, "minItems", path: path, upper: false) ?? 0
            let more: String
            if let max = try spend(node.maxItems, "maxItems", path: path, upper: true) {
                if max == 0 { return "\"[\" ws \"]\"" }
                more = "(\",\" ws \(itemRule) ws){\(Swift.max(min - 1, 0)),\(max - 1)}"
            } else {
                more = "(\",\" ws \(itemRule) ws){\(Swift.max(min - 1, 0)),}"
            }
            let body = "\(itemRule) ws \(more)"
            return add("\(hint)-array", min == 0 ? "\"[\" ws (\(body))? \"]\"" : "\"[\" ws \(body) \"]\"")
        }

        mutating func object(_ node: SchemaNode, path: String, hint: String) throws(JSONSchemaError) -> String {
            let known = Set(node.properties.map(\.name))
            for name in node.required where !known.contains(name) {
                if case .forbidden = node.additionalProperties {
                    throw JSONSchemaError(path: path, reason: "\"\(name)\" is required but not allowed (additionalProperties is false)")
                }
            }
            // Required names without a declared schema are written with any value.
            var props: [(name: String, schema: SchemaNode?, required: Bool)] = node.properties.map {
                ($0.name, $0.schema, node.required.contains($0.name))
            }
            for name in node.required where !known.contains(name) { props.append((name, nil, true)) }

            if props.isEmpty {
                switch node.additionalProperties {
                case .forbidden: return "\"{\" ws \"}\""
                case .allowed: return "object"
                case .schema(let valueSchema):
                    let value = try rule(for: valueSchema, path: "\(path)/additionalProperties", hint: "\(hint)-value")
                    let pair = add("\(hint)-pair", "string ws \":\" ws \(value)")
                    return add("\(hint)-map", "\"{\" ws (\(pair) ws (\",\" ws \(pair) ws)*)? \"}\"")
                }
            }

            var kv: [String] = []
            for (i, p) in props.enumerated() {
                let value =
                    try p.schema.map { (s) throws(JSONSchemaError) in
                        try rule(for: s, path: "\(path)/properties/\(p.name)", hint: "\(hint)-\(p.name)")
                    } ?? anyValue()
                kv.append(
                    add("\(hint)-\(p.name)-kv", "\(JSONSchemaGrammar.literal(JSONValue.string(p.name).jsonText)) ws \":\" ws \(value)"))
                _ = i
            }
            // after[i]: what may follow once property i was the last one written.
            var after = [String](repeating: "", count: props.count)
            for i in stride(from: props.count - 1, through: 0, by: -1) {
                var alts: [String] = []
                var k = i + 1
                while k < props.count {
                    alts.append("\",\" ws \(kv[k]) ws \(after[k])")
                    if props[k].required { break }
                    k += 1
                }
                let mayEnd = props[(i + 1)...].allSatisfy { !$0.required }
                if alts.isEmpty {
                    after[i] = ""
                } else {
                    let body = alts.joined(separator: " | ") + (mayEnd ? " | \"\"" : "")
                    after[i] = add("\(hint)-after-\(props[i].name)", body)
                }
            }
            var first: [String] = []
            for k in 0..<props.count {
                first.append("\(kv[k]) ws \(after[k])")
                if props[k].required { break }
            }
            let allOptional = props.allSatisfy { !$0.required }
            let members = first.joined(separator: " | ")
            let body = allOptional ? "\"{\" ws (\(members))? \"}\"" : "\"{\" ws (\(members)) \"}\""
            return add("\(hint)-object", body)
        }

        /// Compiles `schema` into this grammar's rules, resolving its `$ref`s, in `mode`.
        mutating func rule(for schema: JSONSchema, mode: Mode, hint: String) throws(JSONSchemaError) -> String {
            let saved = (self.schema, self.mode)
            (self.schema, self.mode) = (schema, mode)
            defer { (self.schema, self.mode) = saved }
            return try rule(for: schema.root, path: "", hint: hint)
        }

        mutating func anyValue() -> String {
            needsAny = true
            return "value"
        }

        func render() -> String {
            // Root first, then rules in the order the schema introduced them.
            let ordered = rules.filter { $0.0 == "root" } + rules.filter { $0.0 != "root" }
            var lines = ordered.map { "\($0.0) ::= \($0.1)" }
            lines += [
                "ws ::= [ \\t\\n]{0,20}",
                "char ::= [^\"\\\\\\x7F\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4})",
                "string ::= \"\\\"\" char* \"\\\"\"",
                "integer ::= \"-\"? (\"0\" | [1-9] [0-9]{0,15})",
                "number ::= \"-\"? (\"0\" | [1-9] [0-9]{0,15}) (\".\" [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})?",
                "boolean ::= \"true\" | \"false\"",
                "null ::= \"null\"",
                "value ::= object | array | string | number | boolean | null",
                "object ::= \"{\" ws (string ws \":\" ws value ws (\",\" ws string ws \":\" ws value ws)*)? \"}\"",
                "array ::= \"[\" ws (value ws (\",\" ws value ws)*)? \"]\"",
            ]
            return lines.joined(separator: "\n") + "\n"
        }
    }
}

/// Decimal digit patterns for a range of non-negative integers: [lo, hi] becomes a list of
/// alternatives such as `"1" [0-9]{2}`, none with a leading zero.
enum IntegerRange {
    static func alternatives(_ lo: Int64, _ hi: Int64) -> [String] {
        guard lo <= hi else { return [] }
        var out: [String] = []
        split(lo, hi, into: &out)
        return out
    }

    private static func digits(_ n: Int64) -> Int { String(n).count }

    /// Splits [lo, hi] into pieces with the same number of digits, then into pieces that
    /// one digit pattern covers.
    private static func split(_ lo: Int64, _ hi: Int64, into out: inout [String]) {
        let dl = digits(lo), dh = digits(hi)
        if dl < dh {
            let top = pow10(dl) - 1
            split(lo, top, into: &out)
            split(top + 1, hi, into: &out)
            return
        }
        sameLength(String(lo).map { Int($0.asciiValue! - 48) }, String(hi).map { Int($0.asciiValue! - 48) }, into: &out)
    }

    private static func pow10(_ n: Int) -> Int64 { (0..<n).reduce(1) { r, _ in r * 10 } }

    /// lo and hi have the same number of digits.
    private static func sameLength(_ lo: [Int], _ hi: [Int], into out: inout [String]) {
        let n = lo.count
        if n == 0 { return }
        if lo == hi { out.append(JSONSchemaGrammar.literal(lo.map(String.init).joined())); return }
        // Longest common prefix.
        var p = 0
        while p < n, lo[p] == hi[p] { p += 1 }
        let prefix = p > 0 ? JSONSchemaGrammar.literal(lo[0..<p].map(String.init).joined()) + " " : ""
        let restLength = n - p - 1
        let loRest = Array(lo[(p + 1)...]), hiRest = Array(hi[(p + 1)...])
        let loAllZero = loRest.allSatisfy { $0 == 0 }, hiAllNine = hiRest.allSatisfy { $0 == 9 }
        func any(_ count: Int) -> String { count == 0 ? "" : " [0-9]{\(count)}" }
        func cls(_ a: Int, _ b: Int) -> String { a == b ? "\"\(a)\"" : "[\(a)-\(b)]" }
        if loAllZero && hiAllNine {
            out.append(prefix + cls(lo[p], hi[p]) + any(restLength))
            return
        }
        // Lower edge: lo[p] followed by [loRest, 99..9].
        var lower: [String] = []
        var start = lo[p]
        if loAllZero {
            lower = []
        } else {
            sameLength(loRest, [Int](repeating: 9, count: restLength), into: &lower)
            out += lower.map { prefix + "\"\(lo[p])\" " + $0 }
            start += 1
        }
        var end = hi[p]
        var upper: [String] = []
        if !hiAllNine {
            sameLength([Int](repeating: 0, count: restLength), hiRest, into: &upper)
            end -= 1
        }
        if start <= end { out.append(prefix + cls(start, end) + any(restLength)) }
        out += upper.map { prefix + "\"\(hi[p])\" " + $0 }
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
