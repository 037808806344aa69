import AnimaCore
import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Issue 14 (C2): every numeric field of every route, as the daemon's own OpenAPI document
/// declares them, gets what a hostile client can send: huge, negative, past 2^63 and 2^64,
/// past the double range, and the non-JSON tokens NaN and Infinity. Each must be a clear
/// 4xx (a 400 naming the field where the document gives it a range), never a 5xx, and the
/// daemon must still be healthy afterwards.
@Suite("Numeric fields of every route", .serialized)
struct NumericFieldTests {
    /// What a hostile client can put where a number goes.
    static let hostile = [
        "1e300", "-1e300", "9223372036854775808", "18446744073709551617", "-9223372036854775809", "1e400", "NaN", "Infinity", "-Infinity",
    ]
    /// Tokens that are not JSON numbers at all: the body is refused as JSON.
    static let notJSON: Set<String> = ["1e400", "NaN", "Infinity", "-Infinity"]
    static let marker = "__numeric_field__"

    /// One place a number goes: a body member (a path of keys and array indices), a query
    /// parameter or a path parameter.
    struct Field: CustomStringConvertible {
        enum Location {
            case body([JSONPathStep])
            case query(String)
            case path(String)
        }
        var method: String
        var route: String
        var location: Location
        var name: String
        /// The document gives a minimum or maximum: the server must refuse what lies outside.
        var ranged: Bool
        var description: String { "\(method) \(route) \(name)" }
    }

    enum JSONPathStep {
        case key(String)
        case index
    }

    struct Document {
        let root: JSONValue
        /// The model the daemon serves: what a `model` member must name.
        let model: String

        func resolve(_ value: JSONValue) -> JSONValue {
            guard let ref = value["$ref"]?.stringValue, ref.hasPrefix("#/") else { return value }
            var node = root
            for part in ref.dropFirst(2).split(separator: "/") { node = node[String(part)] ?? .null }
            return resolve(node)
        }

        /// A small valid instance: required members only, each at its lowest allowed value.
        func sample(_ raw: JSONValue) -> JSONValue {
            let schema = resolve(raw)
            if let constant = schema["const"] { return constant }
            if let first = schema["enum"]?.arrayValue?.first { return first }
            if let first = (schema["oneOf"] ?? schema["anyOf"])?.arrayValue?.first { return sample(first) }
            let type =
                schema["type"]?.stringValue ?? schema["type"]?.arrayValue?.first?.stringValue
                ?? (schema["properties"] != nil ? "object" : "string")
            switch type {
            case "object":
                var object = JSONObject()
                for name in schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
                    object[name] = name == "model" ? .string(model) : sample(schema["properties"]?[name] ?? ["type": "string"])
                }
                return .object(object)
            case "array":
                let count = Int(schema["minItems"]?.numberValue ?? 0)
                return .array(Array(repeating: sample(schema["items"] ?? ["type": "string"]), count: count))
            case "integer", "number": return .number(schema["minimum"]?.numberValue ?? 1)
            case "boolean": return false
            case "null": return .null
            default: return "x"
            }
        }

        func isNumeric(_ raw: JSONValue) -> Bool {
            let schema = resolve(raw)
            let types = schema["type"].map { $0.arrayValue?.compactMap(\.stringValue) ?? [$0.stringValue ?? ""] } ?? []
            return types.contains("integer") || types.contains("number") || schema["const"]?.numberValue != nil
        }

        func isRanged(_ raw: JSONValue) -> Bool {
            let schema = resolve(raw)
            return schema["minimum"] != nil || schema["maximum"] != nil || schema["const"] != nil
        }

        /// Every numeric member under `raw`, however deep, with whether it has a declared range.
        func numericMembers(_ raw: JSONValue, at path: [JSONPathStep] = [], depth: Int = 0) -> [([JSONPathStep], Bool)] {
            guard depth < 6 else { return [] }
            let schema = resolve(raw)
            if isNumeric(schema) { return [(path, isRanged(schema))] }
            var out: [([JSONPathStep], Bool)] = []
            for (name, member) in schema["properties"]?.objectValue ?? [:] {
                out += numericMembers(member, at: path + [.key(name)], depth: depth + 1)
            }
            if let items = schema["items"] { out += numericMembers(items, at: path + [.index], depth: depth + 1) }
            return out
        }

        var fields: [Field] {
            var out: [Field] = []
            for (route, item) in root["paths"]?.objectValue ?? [:] {
                for (method, operation) in item.objectValue ?? [:] {
                    for parameter in (operation["parameters"]?.arrayValue ?? []).map(resolve) {
                        guard let name = parameter["name"]?.stringValue, let schema = parameter["schema"], isNumeric(schema) else {
                            continue
                        }
                        let location: Field.Location = parameter["in"] == "path" ? .path(name) : .query(name)
                        out.append(
                            Field(method: method.uppercased(), route: route, location: location, name: name, ranged: isRanged(schema)))
                    }
                    if let body = operation["requestBody"]?["content"]?["application/json"]?["schema"] {
                        for (path, ranged) in numericMembers(body) {
                            let name = path.compactMap { if case .key(let k) = $0 { k } else { nil } }.last ?? "?"
                            out.append(Field(method: method.uppercased(), route: route, location: .body(path), name: name, ranged: ranged))
                        }
                    }
                }
            }
            return out
        }

        /// The operation's body: a valid sample with `path` set to the marker.
        func body(for field: Field) -> String? {
            let operation = root["paths"]?[field.route]?[field.method.lowercased()]
            guard let schema = operation?["requestBody"]?["content"]?["application/json"]?["schema"] else { return nil }
            var value = sample(schema)
            if case .body(let path) = field.location { value = Self.setting(value, path[...], schema: resolve(schema), in: self) }
            return value.jsonText
        }

        static func setting(_ value: JSONValue, _ path: ArraySlice<JSONPathStep>, schema: JSONValue, in doc: Document) -> JSONValue {
            guard let step = path.first else { return .string(NumericFieldTests.marker) }
            switch step {
            case .key(let name):
                var object = value.objectValue ?? JSONObject()
                let member = doc.resolve(schema["properties"]?[name] ?? [:])
                object[name] = setting(object[name] ?? doc.sample(member), path.dropFirst(), schema: member, in: doc)
                return .object(object)
            case .index:
                let items = doc.resolve(schema["items"] ?? [:])
                return .array([setting(value.arrayValue?.first ?? doc.sample(items), path.dropFirst(), schema: items, in: doc)])
            }
        }
    }

    func send(_ daemon: ServeTests.Daemon, _ method: String, _ path: String, _ body: String?) async throws -> (status: Int, body: JSONValue)
    {
        var request = URLRequest(url: URL(string: daemon.url + path)!)
        request.httpMethod = method
        request.timeoutInterval = 60
        request.setValue("Bearer \(daemon.token)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let body { request.httpBody = Data(body.utf8) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, (try? JSONValue(parsing: String(decoding: data, as: UTF8.self))) ?? .null)
    }

    @Test func everyNumericFieldOfEveryRouteRefusesHostileNumbersAndTheDaemonSurvives() async throws {
        let daemon = try await ServeTests.Daemon(["--scripted", "--requests-per-minute", "1000000", "--max-concurrent-requests", "1000"])
        defer { _ = try? FileManager.default.removeItem(atPath: daemon.dataDirectory) }
        let (status, text) = try await send(daemon, "GET", "/openapi.json", nil)
        try #require(status == 200)
        let models = try await send(daemon, "GET", "/v1/models", nil)
        let model = try #require(models.body["data"]?.arrayValue?.first?["id"]?.stringValue)
        let document = Document(root: text, model: model)
        let fields = document.fields
        // The document must declare what the routes read; these are the ones C2 was found on.
        for expected in [
            "max_tokens", "max_completion_tokens", "seed", "temperature", "top_p", "frequency_penalty", "n", "pid", "limit", "after",
            "max_seconds", "priority",
        ] {
            #expect(fields.contains { $0.name == expected }, "the OpenAPI document declares no numeric field \(expected)")
        }
        #expect(fields.contains { $0.route == "/v1/completions" && $0.name == "max_tokens" })

        var tried = 0
        for field in fields {
            for token in Self.hostile {
                var route = field.route
                var query: [String] = []
                for (name, parameter) in Self.pathParameters(route) {
                    route = route.replacingOccurrences(of: "{\(name)}", with: parameter)
                }
                switch field.location {
                case .path(let name):
                    route = field.route.replacingOccurrences(of: "{\(name)}", with: token)
                    for (other, parameter) in Self.pathParameters(route) {
                        route = route.replacingOccurrences(of: "{\(other)}", with: parameter)
                    }
                case .query(let name): query.append("\(name)=\(token)")
                case .body: break
                }
                // Required query parameters get a valid value (the search route's q).
                let operation = document.root["paths"]?[field.route]?[field.method.lowercased()]
                for parameter in (operation?["parameters"]?.arrayValue ?? []).map(document.resolve)
                where parameter["in"] == "query" && parameter["required"] == true && parameter["name"]?.stringValue != field.name {
                    query.append("\(parameter["name"]!.stringValue!)=x")
                }
                var body = document.body(for: field)
                if case .body = field.location { body = body?.replacingOccurrences(of: "\"\(Self.marker)\"", with: token) }
                let path = route + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
                let (status, answer) = try await send(daemon, field.method, path, body)
                tried += 1
                let message = answer["error"]?["message"]?.stringValue ?? ""
                #expect((200..<500).contains(status), "\(field) = \(token): \(status) \(answer.jsonText)")
                if status >= 400 { #expect(!message.isEmpty, "\(field) = \(token): an error without a message") }
                if case .body = field.location, Self.notJSON.contains(token) {
                    #expect(status == 400 && message.contains("not JSON"), "\(field) = \(token): \(status) \(message)")
                } else if field.ranged {
                    #expect(status == 400 && message.contains(field.name), "\(field) = \(token): \(status) \(message)")
                }
            }
        }
        #expect(tried >= 300, "only \(tried) requests were generated from the document")
        let health = try await send(daemon, "GET", "/health", nil)
        #expect(health.status == 200, "the daemon is not healthy after the hostile numbers")
        #expect(daemon.process.process.isRunning)
        daemon.process.process.terminate()
        _ = try await daemon.process.finish(within: 30)
    }

    /// Valid values for the path parameters a field does not test.
    static func pathParameters(_ route: String) -> [(String, String)] {
        var out: [(String, String)] = []
        var rest = route[...]
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            let name = String(rest[rest.index(after: open)..<close])
            out.append((name, name == "pid" ? "1" : "x"))
            rest = rest[rest.index(after: close)...]
        }
        return out
    }
}
