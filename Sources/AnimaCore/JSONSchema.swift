import Foundation

/// A JSON Schema (the subset that tools and structured output use), checked when it is
/// built so that a typo fails loudly instead of silently allowing anything.
///
/// Supported keywords: `type` (one or a list), `properties`, `required`,
/// `additionalProperties`, `items`, `minItems`, `maxItems`, `enum`, `const`,
/// `minLength`, `maxLength`, `pattern` (validation only), `minimum`, `maximum`,
/// `exclusiveMinimum`, `exclusiveMaximum`, `anyOf`, `oneOf`, `allOf`, and `$ref` into
/// `$defs`/`definitions`. Annotations (`title`, `description`, `default`, `examples`,
/// `format`, ...) are accepted and ignored. Anything else is an error.
public struct JSONSchema: Sendable, Hashable, CustomStringConvertible {
    /// The schema as the user wrote it.
    public let json: JSONValue
    /// The checked schema tree.
    public let root: SchemaNode
    /// Named definitions that `$ref` points into, by their reference string.
    public let definitions: [String: SchemaNode]

    public init(_ json: JSONValue) throws(JSONSchemaError) {
        self.json = json
        var builder = SchemaBuilder()
        if case .object(let top) = json {
            for key in ["$defs", "definitions"] {
                guard let defs = top[key] else { continue }
                guard case .object(let members) = defs else {
                    throw JSONSchemaError(path: "/\(key)", reason: "must be an object of named schemas")
                }
                for (name, _) in members { builder.declared.insert("#/\(key)/\(name)") }
            }
            for key in ["$defs", "definitions"] {
                guard case .object(let members)? = top[key] else { continue }
                for (name, value) in members {
                    builder.definitions["#/\(key)/\(name)"] = try builder.build(value, path: "/\(key)/\(name)")
                }
            }
        }
        root = try builder.build(json, path: "")
        definitions = builder.definitions
    }

    /// Parses schema text (JSON) and checks it.
    public init(parsing text: String) throws(JSONSchemaError) {
        let value: JSONValue
        do { value = try JSONValue(parsing: text) } catch {
            throw JSONSchemaError(path: "", reason: "the schema is not JSON (\(error))")
        }
        try self.init(value)
    }

    public var description: String { json.jsonText }

    public static func == (lhs: JSONSchema, rhs: JSONSchema) -> Bool { lhs.json == rhs.json }
    public func hash(into hasher: inout Hasher) { hasher.combine(json) }

    /// Every way `value` breaks the schema, each with the JSON Pointer of the offending part.
    /// An empty result means the value is valid.
    public func violations(of value: JSONValue) -> [SchemaViolation] {
        var out: [SchemaViolation] = []
        check(value, against: root, path: "", into: &out, depth: 0)
        return out
    }

    public func validate(_ value: JSONValue) throws(SchemaViolations) {
        let found = violations(of: value)
        if !found.isEmpty { throw SchemaViolations(violations: found) }
    }

    /// Follows `$ref` links to the schema they name.
    public func resolve(_ node: SchemaNode) -> SchemaNode {
        var node = node
        var hops = 0
        while let ref = node.ref, let target = definitions[ref], hops < 64 {
            node = target
            hops += 1
        }
        return node
    }

    private func check(_ value: JSONValue, against node: SchemaNode, path: String, into out: inout [SchemaViolation], depth: Int) {
        guard depth < 128 else {
            out.append(SchemaViolation(path: path, message: "schema recursion deeper than 128 levels"))
            return
        }
        let node = resolve(node)
        func fail(_ message: String) { out.append(SchemaViolation(path: path, message: message)) }

        if let types = node.types, !types.contains(where: { $0.matches(value) }) {
            fail("expected \(types.map(\.rawValue).sorted().joined(separator: " or ")), got \(value.typeName)")
            return
        }
        if let allowed = node.enumValues, !allowed.contains(value) {
            fail("must be one of \(allowed.map(\.jsonText).joined(separator: ", "))")
        }
        if let constant = node.constValue, constant != value {
            fail("must be \(constant.jsonText)")
        }
        switch value {
        case .string(let s):
            let length = s.unicodeScalars.count
            if let min = node.minLength, length < min { fail("must be at least \(min) characters long") }
            if let max = node.maxLength, length > max { fail("must be at most \(max) characters long") }
            if let pattern = node.pattern,
                let regex = try? NSRegularExpression(pattern: pattern),
                regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) == nil
            {
                fail("must match the pattern \(pattern)")
            }
        case .number(let n):
            if let min = node.minimum, n < min { fail("must be >= \(JSONValue.format(min))") }
            if let max = node.maximum, n > max { fail("must be <= \(JSONValue.format(max))") }
            if let min = node.exclusiveMinimum, n <= min { fail("must be > \(JSONValue.format(min))") }
            if let max = node.exclusiveMaximum, n >= max { fail("must be < \(JSONValue.format(max))") }
        case .array(let items):
            if let min = node.minItems, items.count < min { fail("must have at least \(min) items") }
            if let max = node.maxItems, items.count > max { fail("must have at most \(max) items") }
            if let itemSchema = node.items {
                for (i, item) in items.enumerated() {
                    check(item, against: itemSchema, path: "\(path)/\(i)", into: &out, depth: depth + 1)
                }
            }
        case .object(let object):
            for name in node.required where object[name] == nil {
                fail("missing required property \"\(name)\"")
            }
            for (key, member) in object {
                let memberPath = "\(path)/\(SchemaViolation.escape(key))"
                if let propertySchema = node.property(named: key) {
                    check(member, against: propertySchema, path: memberPath, into: &out, depth: depth + 1)
                } else {
                    switch node.additionalProperties {
                    case .allowed: break
                    case .forbidden:
                        out.append(SchemaViolation(path: memberPath, message: "property \"\(key)\" is not allowed"))
                    case .schema(let extra):
                        check(member, against: extra, path: memberPath, into: &out, depth: depth + 1)
                    }
                }
            }
        case .null, .bool: break
        }
        for sub in node.allOf ?? [] { check(value, against: sub, path: path, into: &out, depth: depth + 1) }
        if let anyOf = node.anyOf {
            let passing = anyOf.filter { alt in
                var scratch: [SchemaViolation] = []
                check(value, against: alt, path: path, into: &scratch, depth: depth + 1)
                return scratch.isEmpty
            }
            if passing.isEmpty { fail("must match at least one of the \(anyOf.count) alternatives (anyOf)") }
        }
        if let oneOf = node.oneOf {
            let passing = oneOf.filter { alt in
                var scratch: [SchemaViolation] = []
                check(value, against: alt, path: path, into: &scratch, depth: depth + 1)
                return scratch.isEmpty
            }.count
            if passing != 1 { fail("must match exactly one of the \(oneOf.count) alternatives (oneOf), matched \(passing)") }
        }
    }
}

/// One node of a checked schema. Immutable; shared freely between tasks.
public final class SchemaNode: Sendable, Hashable {
    public enum JSONType: String, Sendable, Hashable, CaseIterable {
        case null, boolean, integer, number, string, array, object

        func matches(_ value: JSONValue) -> Bool {
            switch (self, value) {
            case (.null, .null), (.boolean, .bool), (.string, .string), (.array, .array), (.object, .object),
                (.number, .number):
                true
            case (.integer, .number(let n)): n.isIntegral
            default: false
            }
        }
    }

    public enum Additional: Sendable, Hashable {
        case allowed, forbidden
        case schema(SchemaNode)
    }

    public let types: Set<JSONType>?
    public let properties: [(name: String, schema: SchemaNode)]
    public let required: [String]
    public let additionalProperties: Additional
    public let items: SchemaNode?
    public let minItems: Int?
    public let maxItems: Int?
    public let enumValues: [JSONValue]?
    public let constValue: JSONValue?
    public let minLength: Int?
    public let maxLength: Int?
    public let pattern: String?
    public let minimum: Double?
    public let maximum: Double?
    public let exclusiveMinimum: Double?
    public let exclusiveMaximum: Double?
    public let anyOf: [SchemaNode]?
    public let oneOf: [SchemaNode]?
    public let allOf: [SchemaNode]?
    /// A `$ref` string, resolved through `JSONSchema.definitions`.
    public let ref: String?

    init(
        types: Set<JSONType>? = nil, properties: [(name: String, schema: SchemaNode)] = [], required: [String] = [],
        additionalProperties: Additional = .allowed, items: SchemaNode? = nil, minItems: Int? = nil,
        maxItems: Int? = nil, enumValues: [JSONValue]? = nil, constValue: JSONValue? = nil, minLength: Int? = nil,
        maxLength: Int? = nil, pattern: String? = nil, minimum: Double? = nil, maximum: Double? = nil,
        exclusiveMinimum: Double? = nil, exclusiveMaximum: Double? = nil, anyOf: [SchemaNode]? = nil,
        oneOf: [SchemaNode]? = nil, allOf: [SchemaNode]? = nil, ref: String? = nil
    ) {
        self.types = types
        self.properties = properties
        self.required = required
        self.additionalProperties = additionalProperties
        self.items = items
        self.minItems = minItems
        self.maxItems = maxItems
        self.enumValues = enumValues
        self.constValue = constValue
        self.minLength = minLength
        self.maxLength = maxLength
        self.pattern = pattern
        self.minimum = minimum
        self.maximum = maximum
        self.exclusiveMinimum = exclusiveMinimum
        self.exclusiveMaximum = exclusiveMaximum
        self.anyOf = anyOf
        self.oneOf = oneOf
        self.allOf = allOf
        self.ref = ref
    }

    public func property(named name: String) -> SchemaNode? {
        properties.first { $0.name == name }?.schema
    }

    public static func == (lhs: SchemaNode, rhs: SchemaNode) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// The schema itself is malformed: where, and what is wrong with it.
public struct JSONSchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// JSON Pointer into the schema ("" is the root).
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String {
        "invalid JSON Schema at \(path.isEmpty ? "the root" : path): \(reason)"
    }
}

/// One place where a value breaks its schema.
public struct SchemaViolation: Sendable, Equatable, CustomStringConvertible {
    /// JSON Pointer into the value ("" is the value itself).
    public var path: String
    public var message: String

    public var description: String { "\(path.isEmpty ? "value" : path): \(message)" }

    static func escape(_ key: String) -> String {
        // Most keys need nothing: checked byte by byte, without Foundation's search (every key
        // of every tool call's arguments passes here).
        guard key.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else { return key }
        return key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}

/// A value that does not match its schema, with every reason.
public struct SchemaViolations: Error, Sendable, Equatable, CustomStringConvertible {
    public var violations: [SchemaViolation]
    public var description: String { violations.map(\.description).joined(separator: "; ") }
}

private struct SchemaBuilder {
    var declared: Set<String> = []
    var definitions: [String: SchemaNode] = [:]

    static let annotations: Set<String> = [
        "title", "description", "default", "examples", "$schema", "$id", "$comment", "format", "deprecated",
        "readOnly", "writeOnly", "$defs", "definitions",
    ]

    mutating func build(_ value: JSONValue, path: String) throws(JSONSchemaError) -> SchemaNode {
        func fail(_ key: String, _ reason: String) -> JSONSchemaError {
            JSONSchemaError(path: "\(path)/\(key)", reason: reason)
        }
        switch value {
        case .bool(true): return SchemaNode()
        case .bool(false): return SchemaNode(enumValues: [])
        case .object: break
        default:
            throw JSONSchemaError(path: path, reason: "a schema must be an object or a boolean, not \(value.typeName)")
        }
        let object = value.objectValue!

        for (key, _) in object where !Self.keywords.contains(key) && !Self.annotations.contains(key) {
            throw fail(key, "unknown or unsupported keyword \"\(key)\"; supported: \(Self.keywords.sorted().joined(separator: ", "))")
        }

        func count(_ key: String) throws(JSONSchemaError) -> Int? {
            guard let v = object[key] else { return nil }
            guard case .number(let n) = v, n.isIntegral, n >= 0, n < 1e9 else {
                throw fail(key, "must be a non-negative integer")
            }
            return Int(n)
        }
        func number(_ key: String) throws(JSONSchemaError) -> Double? {
            guard let v = object[key] else { return nil }
            guard case .number(let n) = v else { throw fail(key, "must be a number") }
            return n
        }
        func list(_ key: String) throws(JSONSchemaError) -> [SchemaNode]? {
            guard let v = object[key] else { return nil }
            guard case .array(let alts) = v, !alts.isEmpty else { throw fail(key, "must be a non-empty array of schemas") }
            var nodes: [SchemaNode] = []
            for (i, alt) in alts.enumerated() { nodes.append(try build(alt, path: "\(path)/\(key)/\(i)")) }
            return nodes
        }

        var types: Set<SchemaNode.JSONType>?
        if let t = object["type"] {
            let names: [JSONValue]
            switch t {
            case .string: names = [t]
            case .array(let a) where !a.isEmpty: names = a
            default: throw fail("type", "must be a type name or a non-empty array of type names")
            }
            var set = Set<SchemaNode.JSONType>()
            for name in names {
                guard let s = name.stringValue, let type = SchemaNode.JSONType(rawValue: s) else {
                    throw fail(
                        "type",
                        "unknown type \(name.jsonText); use one of \(SchemaNode.JSONType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                set.insert(type)
            }
            types = set
        }

        var properties: [(name: String, schema: SchemaNode)] = []
        if let p = object["properties"] {
            guard case .object(let members) = p else { throw fail("properties", "must be an object of schemas") }
            for (name, schema) in members {
                properties.append((name, try build(schema, path: "\(path)/properties/\(SchemaViolation.escape(name))")))
            }
        }
        var required: [String] = []
        if let r = object["required"] {
            guard case .array(let names) = r else { throw fail("required", "must be an array of property names") }
            for n in names {
                guard let s = n.stringValue else { throw fail("required", "must contain only strings") }
                if !required.contains(s) { required.append(s) }
            }
        }
        var additional = SchemaNode.Additional.allowed
        switch object["additionalProperties"] {
        case nil, .bool(true)?: break
        case .bool(false)?: additional = .forbidden
        case let schema?: additional = .schema(try build(schema, path: "\(path)/additionalProperties"))
        }
        let items = try object["items"].map { (v) throws(JSONSchemaError) in try build(v, path: "\(path)/items") }
        if let e = object["enum"], case .array(let a) = e, a.isEmpty {
            throw fail("enum", "must list at least one value")
        }
        let enumValues: [JSONValue]?
        switch object["enum"] {
        case nil: enumValues = nil
        case .array(let a)?: enumValues = a
        default: throw fail("enum", "must be an array of values")
        }
        var pattern: String?
        if let p = object["pattern"] {
            guard let s = p.stringValue, (try? NSRegularExpression(pattern: s)) != nil else {
                throw fail("pattern", "must be a valid regular expression")
            }
            pattern = s
        }
        var ref: String?
        if let r = object["$ref"] {
            guard let s = r.stringValue else { throw fail("$ref", "must be a string") }
            guard declared.contains(s) else {
                throw fail("$ref", "\"\(s)\" does not name a schema under #/$defs or #/definitions")
            }
            ref = s
        }
        let minItems = try count("minItems"), maxItems = try count("maxItems")
        let minLength = try count("minLength"), maxLength = try count("maxLength")
        if let a = minItems, let b = maxItems, a > b { throw fail("minItems", "is larger than maxItems") }
        if let a = minLength, let b = maxLength, a > b { throw fail("minLength", "is larger than maxLength") }
        let minimum = try number("minimum"), maximum = try number("maximum")
        if let a = minimum, let b = maximum, a > b { throw fail("minimum", "is larger than maximum") }

        return SchemaNode(
            types: types, properties: properties, required: required, additionalProperties: additional,
            items: items, minItems: minItems, maxItems: maxItems, enumValues: enumValues,
            constValue: object["const"], minLength: minLength, maxLength: maxLength, pattern: pattern,
            minimum: minimum, maximum: maximum, exclusiveMinimum: try number("exclusiveMinimum"),
            exclusiveMaximum: try number("exclusiveMaximum"), anyOf: try list("anyOf"), oneOf: try list("oneOf"),
            allOf: try list("allOf"), ref: ref
        )
    }

    static let keywords: Set<String> = [
        "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "enum", "const",
        "minLength", "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "anyOf",
        "oneOf", "allOf", "$ref",
    ]
}
