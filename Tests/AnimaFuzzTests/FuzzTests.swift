import AnimaKernel
import AnimaLlama
import AnimaProcessor
import AnimaTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import PropertyBased
import Testing

@testable import AnimaCore
@testable import AnimaServer

/// Issue 14: property-based and fuzz tests for the four places untrusted bytes enter.
/// Fixed seed (`Fuzz.seed`), a time budget per target; the counts go to BENCHMARKS.md.
@Suite("Fuzz and properties", .serialized)
struct FuzzTests {
    // MARK: JSON parser

    @Test func randomBytesNeverCrashTheJSONParser() async {
        let tried = await Fuzz.run("json-bytes", inputs: 200_000, budget: .seconds(3)) { _, rng in
            let bytes = Fuzz.byte.array(of: 0...48).run(using: &rng)
            var parser = JSONParser(bytes)
            _ = try? parser.parseDocument()
        }
        #expect(tried > 1000)
    }

    @Test func mutatedValidJSONParsesOrFailsWithAnOffsetInside() async {
        let tried = await Fuzz.run("json-mutated", inputs: 200_000, budget: .seconds(4)) { index, rng in
            let original = Array(Fuzz.json(&rng).jsonText.utf8)
            let bytes = Fuzz.mutate(original, &rng)
            var parser = JSONParser(bytes)
            do {
                let value = try parser.parseDocument()
                // Whatever parses prints as JSON that parses to the same value.
                #expect(try JSONValue(parsing: value.jsonText) == value, "input \(index)")
            } catch {
                let offset = (error as? JSONParseError)?.offset ?? -1
                #expect((0...bytes.count).contains(offset), "input \(index): \(error) (\(bytes.count) bytes)")
            }
        }
        #expect(tried > 1000)
    }

    @Test func validJSONRoundTrips() async {
        let tried = await Fuzz.run("json-roundtrip", inputs: 100_000, budget: .seconds(3)) { index, rng in
            let value = Fuzz.json(&rng, depth: 5)
            let text = value.jsonText
            #expect((try? JSONValue(parsing: text)) == value, "input \(index): \(text)")
        }
        #expect(tried > 1000)
    }

    @Test func deepNestingIsRefusedNotAStackOverflow() {
        for opener in ["[", "{\"a\":"] {
            let text = String(repeating: opener, count: 100_000)
            #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
        }
    }

    // MARK: Schema to grammar

    static let schemaKeys = [
        "type", "properties", "required", "items", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "$defs", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems", "minLength", "maxLength", "pattern", "additionalProperties",
        "description",
    ]
    static let typeNames: [JSONValue] = ["object", "array", "string", "integer", "number", "boolean", "null", "strng", 7]

    /// A random schema: mostly well formed, with hostile bounds and the odd wrong value.
    static func schema(_ rng: inout Xoshiro, depth: Int = 3) -> JSONValue {
        if depth == 0 || Gen.int(in: 0...9).run(using: &rng) == 0 { return Fuzz.json(&rng, depth: 1, keys: schemaKeys) }
        var object = JSONObject()
        object["type"] = Gen<JSONValue?>.element(of: typeNames).run(using: &rng)!
        for _ in 0..<Gen.int(in: 0...4).run(using: &rng) {
            let key = Gen<String?>.element(of: schemaKeys).run(using: &rng)!
            switch key {
            case "properties":
                var properties = JSONObject()
                for _ in 0..<Gen.int(in: 0...3).run(using: &rng) { properties[Fuzz.word.run(using: &rng)] = schema(&rng, depth: depth - 1) }
                object[key] = .object(properties)
            case "items", "additionalProperties": object[key] = schema(&rng, depth: depth - 1)
            case "anyOf", "oneOf", "allOf":
                object[key] = .array((0..<Gen.int(in: 0...3).run(using: &rng)).map { _ in schema(&rng, depth: depth - 1) })
            case "required":
                object[key] = .array((0..<Gen.int(in: 0...2).run(using: &rng)).map { _ in .string(Fuzz.word.run(using: &rng)) })
            case "$ref": object[key] = Gen.bool.run(using: &rng) ? "#/$defs/a" : .string(Fuzz.word.run(using: &rng))
            case "$defs": object[key] = ["a": schema(&rng, depth: depth - 1)]
            case "enum": object[key] = .array((0..<Gen.int(in: 0...3).run(using: &rng)).map { _ in Fuzz.json(&rng, depth: 1) })
            case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems", "minLength", "maxLength":
                object[key] = Gen.int(in: 0...5).run(using: &rng) == 0 ? Fuzz.json(&rng, depth: 0) : .number(Fuzz.number(&rng))
            default: object[key] = Fuzz.json(&rng, depth: 1)
            }
        }
        return .object(object)
    }

    @Test func randomSchemasCompileOrFailClearly() async {
        var compiled = 0
        let tried = await Fuzz.run("schema-grammar", inputs: 100_000, budget: .seconds(5)) { index, rng in
            let json = Self.schema(&rng)
            guard let schema = try? JSONSchema(json) else { return }
            for mode in [JSONSchemaGrammar.Mode.strict, .relaxed] {
                do {
                    let grammar = try JSONSchemaGrammar(schema: schema, mode: mode)
                    #expect(grammar.text.hasPrefix("root ::= "), "input \(index)")
                    #expect(grammar.text.utf8.count < 4 << 20, "input \(index): a grammar of \(grammar.text.utf8.count) bytes")
                    compiled += 1
                } catch {
                    #expect((error as? JSONSchemaError)?.reason.isEmpty == false, "input \(index): \(error)")
                }
            }
            // Validation of a random instance answers too.
            _ = schema.violations(of: Fuzz.json(&rng, depth: 2))
        }
        #expect(tried > 500 && compiled > 50, "\(tried) schemas, \(compiled) grammars")
    }

    // MARK: Chat wire format

    static let chatKeys = [
        "model", "messages", "role", "content", "tools", "tool_choice", "response_format", "temperature", "top_p", "seed", "max_tokens",
        "max_completion_tokens", "n", "stop", "frequency_penalty", "parallel_tool_calls", "tool_calls", "function", "name", "arguments",
        "type", "json_schema", "schema", "id", "text", "tool_call_id",
    ]

    /// A random chat request: a valid base with members replaced by random values.
    static func chatBody(_ rng: inout Xoshiro) -> JSONObject {
        var body: JSONObject = ["model": "m", "messages": [["role": "user", "content": "hi"]]]
        for _ in 0..<Gen.int(in: 1...4).run(using: &rng) {
            let key = Gen<String?>.element(of: chatKeys).run(using: &rng)!
            body[key] = Gen.bool.run(using: &rng) ? .number(Fuzz.number(&rng)) : Fuzz.json(&rng, depth: 3, keys: chatKeys)
        }
        if Gen.int(in: 0...3).run(using: &rng) == 0 {
            body["response_format"] = ["type": "json_schema", "json_schema": ["schema": schema(&rng)]]
        }
        return body
    }

    @Test func randomChatRequestsDecodeOrAreRefusedAs4xx() async {
        var decoded = 0
        let tried = await Fuzz.run("chat-wire", inputs: 100_000, budget: .seconds(4)) { index, rng in
            let body = Self.chatBody(&rng)
            do {
                let request = try ChatWire.request(from: body)
                // What decodes is usable: sampling the engine would accept.
                #expect(request.sampling.problem == nil, "input \(index)")
                decoded += 1
            } catch {
                let status = APIError.from(error).status.code
                #expect((400..<500).contains(status), "input \(index): \(status) for \(JSONValue.object(body).jsonText): \(error)")
            }
        }
        #expect(tried > 500 && decoded > 10, "\(tried) bodies, \(decoded) decoded")
    }

    // MARK: MCP endpoint

    static let sessionHeader = HTTPFields.Element.Name("Mcp-Session-Id")!
    static let mcpMethods = [
        "tools/list", "tools/call", "ping", "initialize", "resources/list", "prompts/get", "notifications/initialized", "x/y", "",
    ]
    static let mcpTools = ["run_agent", "list_processes", "memory_write", "memory_read", "memory_list", "memory_search", "no_such_tool"]

    static func rpcMessage(_ rng: inout Xoshiro) -> [UInt8] {
        var message: JSONObject = ["jsonrpc": Gen.int(in: 0...5).run(using: &rng) == 0 ? Fuzz.json(&rng, depth: 0) : "2.0"]
        let method = Gen<String?>.element(of: mcpMethods).run(using: &rng)!
        message["method"] = .string(method)
        if Gen.int(in: 0...4).run(using: &rng) > 0 {
            message["id"] = Gen.bool.run(using: &rng) ? .number(Fuzz.number(&rng)) : Fuzz.json(&rng, depth: 0)
        }
        if method == "tools/call" {
            var arguments =
                Fuzz.json(&rng, depth: 2, keys: ["task", "max_steps", "limit", "query", "key", "value", "prefix", "agent", "tools"])
                .objectValue
                ?? JSONObject()
            for key in ["max_steps", "limit"] where Gen.bool.run(using: &rng) { arguments[key] = .number(Fuzz.number(&rng)) }
            message["params"] = ["name": .string(Gen<String?>.element(of: mcpTools).run(using: &rng)!), "arguments": .object(arguments)]
        } else if Gen.bool.run(using: &rng) {
            message["params"] = Fuzz.json(&rng, depth: 2)
        }
        let bytes = Array(JSONValue.object(message).jsonText.utf8)
        return Gen.int(in: 0...5).run(using: &rng) == 0 ? Fuzz.mutate(bytes, &rng) : bytes
    }

    @Test func randomJSONRPCMessagesGetAnAnswerOrAnErrorNeverAHangOr5xx() async throws {
        var configuration = ServerConfiguration(dataDirectory: NSTemporaryDirectory() + "anima-fuzz-\(UUID().uuidString)")
        configuration.requestsPerMinute = 1_000_000
        configuration.maxConcurrentRequests = 1000
        configuration.port = 0
        defer { try? FileManager.default.removeItem(atPath: configuration.dataDirectory) }
        let processor = ScriptedProcessor(slots: 2, scheduler: Scheduler(), name: "scripted") { _ in .text("done") }
        processor.startStepping()
        let daemon = try Daemon(configuration: configuration, processor: processor, engine: nil, embedder: nil, memory: nil)
        let token = try await daemon.tokens.create(name: "fuzz", user: "alice", groups: ["users"], scopes: Scope.allCases).secret
        let app = Application(router: daemon.router())
        try await app.test(.router) { client in
            var headers: HTTPFields = [
                .contentType: "application/json", .authorization: "Bearer \(token)", .accept: "application/json, text/event-stream",
            ]
            let initialize =
                #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"fuzz","version":"1"}}}"#
            let session = try await client.execute(uri: "/mcp", method: .post, headers: headers, body: ByteBuffer(string: initialize)) {
                response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                return response.headers[Self.sessionHeader]
            }
            headers[Self.sessionHeader] = try #require(session)
            _ = try await client.execute(
                uri: "/mcp", method: .post, headers: headers,
                body: ByteBuffer(string: #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            ) { _ in }

            let tried = try await Fuzz.run("mcp-endpoint", inputs: 20_000, budget: .seconds(6)) { index, rng in
                let bytes = Self.rpcMessage(&rng)
                // A session-less message now and then: refused, never served.
                var sent = headers
                if Gen.int(in: 0...9).run(using: &rng) == 0 { sent[Self.sessionHeader] = nil }
                let message = sent
                let status = try await Self.within(seconds: 30, "input \(index): \(String(decoding: bytes, as: UTF8.self))") {
                    try await client.execute(uri: "/mcp", method: .post, headers: message, body: ByteBuffer(bytes: bytes)) {
                        $0.status.code
                    }
                }
                #expect(status < 500, "input \(index): \(status) for \(String(decoding: bytes, as: UTF8.self))")
            }
            #expect(tried > 100)
            // The session still answers.
            let listed = try await client.execute(
                uri: "/mcp", method: .post, headers: headers, body: ByteBuffer(string: #"{"jsonrpc":"2.0","id":9,"method":"tools/list"}"#)
            ) { String(buffer: $0.body) }
            #expect(listed.contains("run_agent"))
        }
    }

    /// `body`'s value, or a recorded issue if it takes longer than `seconds` (a hang).
    static func within<T: Sendable>(seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                Issue.record("\(what) took longer than \(seconds) s")
                throw CancellationError()
            }
            return value
        }
    }
}
