import AnimaCore
import AnimaKernel
import AnimaMemory
import AnimaProcessor
import AnimaStorage
import AnimaTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import AnimaServer

/// A daemon on the scripted processor with a fresh data directory, and a token for each need.
struct TestDaemon {
    let daemon: Daemon
    let admin: String
    let memory: MemorySystem?

    init(
        requestsPerMinute: Int = 10_000, maxConcurrent: Int = 64, maxBytes: Int = 1 << 20, memory: Bool = false,
        logger: Logger = Daemon.defaultLogger
    ) async throws {
        var configuration = ServerConfiguration(dataDirectory: NSTemporaryDirectory() + "anima-server-\(UUID().uuidString)")
        configuration.requestsPerMinute = requestsPerMinute
        configuration.maxConcurrentRequests = maxConcurrent
        configuration.maxRequestBytes = maxBytes
        configuration.port = 0
        let processor = ScriptedProcessor(slots: 2, scheduler: Scheduler(), name: "scripted") { request in
            if !request.tools.isEmpty, request.toolChoice != .none {
                return .toolCalls([ToolCall(id: "call_1", name: request.tools[0].name, arguments: ["city": "Oslo"])])
            }
            return .text("You said: " + (request.rawPrompt ?? request.messages.last?.content ?? ""))
        }
        processor.startStepping()
        self.memory =
            memory
            ? MemorySystem(
                store: try await MemoryStore.open(
                    .directory(URL(fileURLWithPath: configuration.dataDirectory + "/memory")), key: .generate()),
                embedder: nil)
            : nil
        daemon = try Daemon(
            configuration: configuration, processor: processor, engine: nil, embedder: nil, memory: self.memory, logger: logger)
        admin = try await daemon.tokens.create(name: "admin", user: "alice", groups: ["users"], scopes: Scope.allCases).secret
    }

    func token(scopes: [Scope], user: String = "alice", groups: [String] = ["users"]) async throws -> String {
        try await daemon.tokens.create(name: "t", user: user, groups: groups, scopes: scopes).secret
    }

    func test(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: daemon.router())
        try await app.test(.router) { client in try await body(client) }
    }
}

func headers(_ token: String?) -> HTTPFields {
    var h: HTTPFields = [.contentType: "application/json"]
    if let token { h[.authorization] = "Bearer \(token)" }
    return h
}

/// The response body as JSON, or null when it is not JSON (so expectations on it fail).
func json(_ response: TestResponse) -> JSONValue {
    (try? JSONValue(parsing: String(buffer: response.body))) ?? .null
}

let chatBody = ByteBuffer(string: #"{"model":"scripted","messages":[{"role":"user","content":"hello"}]}"#)

@Suite("Daemon: OpenAI-compatible API")
struct OpenAIAPITests {
    @Test func chatCompletion() async throws {
        let d = try await TestDaemon()
        try await d.test { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: headers(d.admin), body: chatBody) { response in
                #expect(response.status == .ok)
                let body = json(response)
                #expect(body["object"] == "chat.completion")
                #expect(body["choices"]?.arrayValue?.first?["message"]?["content"] == "You said: hello")
                #expect(body["choices"]?.arrayValue?.first?["finish_reason"] == "stop")
                #expect(body["usage"]?["completion_tokens"] == 3)
            }
        }
        // The request ran as a process of the token's user, was audited, and was reaped
        // once answered (a daemon's table does not grow with the requests it serves).
        #expect(d.daemon.audit.records.contains { $0.syscall == "generate" && $0.owner == "alice" })
        #expect(await d.daemon.kernel.processes().isEmpty)
    }

    @Test func streamingSendsChunksThenDone() async throws {
        let d = try await TestDaemon()
        let body = ByteBuffer(
            string:
                #"{"model":"scripted","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi there"}]}"#
        )
        try await d.test { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: headers(d.admin), body: body) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/event-stream")
                let events = String(buffer: response.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }
                #expect(events.last == "data: [DONE]")
                let chunks = try events.dropLast().map { try JSONValue(parsing: String($0.dropFirst("data: ".count))) }
                let text = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
                #expect(text == "You said: hi there")
                #expect(chunks.contains { $0["choices"]?.arrayValue?.first?["finish_reason"] == "stop" })
                #expect(chunks.last?["usage"]?["completion_tokens"] == 4)
            }
        }
    }

    @Test func toolCallsComeBackInOpenAIShape() async throws {
        let d = try await TestDaemon()
        let body = ByteBuffer(
            string:
                #"{"model":"scripted","messages":[{"role":"user","content":"weather?"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]}"#
        )
        try await d.test { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: headers(d.admin), body: body) { response in
                let choice = json(response)["choices"]?.arrayValue?.first
                #expect(choice?["finish_reason"] == "tool_calls")
                let call = choice?["message"]?["tool_calls"]?.arrayValue?.first
                #expect(call?["function"]?["name"] == "get_weather")
                #expect(call?["function"]?["arguments"] == #"{"city":"Oslo"}"#)
                #expect(choice?["message"]?["content"] == .null)
            }
        }
    }

    @Test(
        arguments: [
            (#"{"model":"scripted"}"#, 400, "messages"),
            (#"{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}"#, 404, "model"),
            (#"{"model":"scripted","messages":[{"role":"wizard","content":"x"}]}"#, 400, "messages[0]"),
            (#"{"model":"scripted","messages":[{"role":"user","content":"x"}],"temperature":7}"#, 400, "temperature"),
            (
                #"{"model":"scripted","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"schema":{"type":"strng"}}}}"#,
                400, "response_format"
            ),
            ("{not json", 400, nil),
        ] as [(String, Int, String?)])
    func badRequestsGetOpenAIErrors(body: String, status: Int, param: String?) async throws {
        let d = try await TestDaemon()
        try await d.test { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: headers(d.admin), body: ByteBuffer(string: body))
            { response in
                #expect(response.status.code == status)
                let error = json(response)["error"]
                #expect(error?["message"]?.stringValue?.isEmpty == false)
                if let param { #expect(error?["param"]?.stringValue == param) }
            }
        }
    }

    @Test func completionsAndModels() async throws {
        let d = try await TestDaemon()
        try await d.test { client in
            try await client.execute(
                uri: "/v1/completions", method: .post, headers: headers(d.admin),
                body: ByteBuffer(string: #"{"model":"scripted","prompt":"Once upon"}"#)
            ) { response in
                #expect(json(response)["choices"]?.arrayValue?.first?["text"] == "You said: Once upon")
            }
            try await client.execute(uri: "/v1/models", method: .get, headers: headers(d.admin)) { response in
                #expect(json(response)["data"]?.arrayValue?.first?["id"] == "scripted")
            }
            try await client.execute(
                uri: "/v1/embeddings", method: .post, headers: headers(d.admin), body: ByteBuffer(string: #"{"model":"x","input":"a"}"#)
            ) { response in
                #expect(response.status == .notFound)  // this daemon has no embedding model
            }
        }
    }
}

@Suite("Daemon: native API")
struct NativeAPITests {
    @Test func spawnListWaitAndSignal() async throws {
        let d = try await TestDaemon()
        try await d.test { client in
            let pid = try await client.execute(
                uri: "/anima/v1/processes", method: .post, headers: headers(d.admin),
                body: ByteBuffer(string: #"{"task":"say hi","max_steps":1}"#)
            ) { response in
                #expect(response.status == .created)
                return try #require(json(response)["pid"]?.numberValue)
            }
            try await client.execute(uri: "/anima/v1/processes/\(Int(pid))/wait", method: .get, headers: headers(d.admin)) { response in
                let body = json(response)
                #expect(body["exit"]?["status"] == "completed")
                #expect(body["exit"]?["answer"] == "You said: say hi")
            }
            try await client.execute(uri: "/anima/v1/processes", method: .get, headers: headers(d.admin)) { response in
                #expect(json(response).arrayValue?.count == 1)
            }
            try await client.execute(
                uri: "/anima/v1/processes/\(Int(pid))/signal", method: .post, headers: headers(d.admin),
                body: ByteBuffer(string: #"{"signal":"terminate"}"#)
            ) { response in
                #expect(response.status == .gone)  // it has exited already
            }
        }
    }

    @Test func otherUsersProcessesAreInvisible() async throws {
        let d = try await TestDaemon()
        let bob = try await d.token(scopes: [.agents], user: "bob")
        try await d.test { client in
            let pid = try await client.execute(
                uri: "/anima/v1/processes", method: .post, headers: headers(d.admin),
                body: ByteBuffer(string: #"{"task":"x","max_steps":1}"#)
            ) {
                Int(json($0)["pid"]!.numberValue!)
            }
            for path in ["/anima/v1/processes/\(pid)", "/anima/v1/processes/\(pid)/wait"] {
                try await client.execute(uri: path, method: .get, headers: headers(bob)) { #expect($0.status == .notFound) }
            }
            try await client.execute(
                uri: "/anima/v1/processes/\(pid)/signal", method: .post, headers: headers(bob),
                body: ByteBuffer(string: #"{"signal":"terminate"}"#)
            ) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/anima/v1/processes", method: .get, headers: headers(bob)) {
                #expect(json($0).arrayValue?.isEmpty == true)
            }
        }
    }

    @Test func runStreamsAgentEvents() async throws {
        let d = try await TestDaemon()
        try await d.test { client in
            try await client.execute(
                uri: "/anima/v1/agents/run", method: .post, headers: headers(d.admin),
                body: ByteBuffer(string: #"{"task":"tell me","max_steps":1}"#)
            ) { response in
                let text = String(buffer: response.body)
                #expect(text.hasPrefix("event: spawned"))
                #expect(text.contains("event: text"))
                #expect(text.contains("event: exited\ndata: {\"status\":\"completed\",\"answer\":\"You said: tell me\"}"))
            }
        }
    }

    @Test func agentsWithPersistentMemoryNeedTheMemoryScopeAndAValidName() async throws {
        let d = try await TestDaemon(memory: true)
        let agentsOnly = try await d.token(scopes: [.agents])
        let run = #"{"task":"remember me","max_steps":1,"memory":"assistant"}"#
        try await d.test { client in
            try await client.execute(
                uri: "/anima/v1/agents/run", method: .post, headers: headers(agentsOnly), body: ByteBuffer(string: run)
            ) {
                #expect($0.status == .forbidden)
            }
            try await client.execute(
                uri: "/anima/v1/agents/run", method: .post, headers: headers(d.admin),
                body: ByteBuffer(string: #"{"task":"x","memory":"../bob"}"#)
            ) {
                #expect($0.status == .badRequest)
                #expect(json($0)["error"]?["param"] == "memory")
            }
            // An action set must be a list that chooses among the agent's own tools.
            for body in [#"{"task":"x","actions":"send_money"}"#, #"{"task":"x","actions":["send_money"]}"#] {
                try await client.execute(
                    uri: "/anima/v1/agents/run", method: .post, headers: headers(d.admin), body: ByteBuffer(string: body)
                ) {
                    #expect($0.status == .badRequest)
                    #expect(json($0)["error"]?["param"] == "actions", "\(String(buffer: $0.body))")
                }
            }
            for run in 0..<2 {
                // The scripted model calls the first tool it is offered: a memory function,
                // with arguments that do not fit it, which the pager refuses with an error.
                // The second time, the window holds the first run's messages (memory, not
                // trusted), so the security policy refuses the write before the pager sees it.
                try await client.execute(
                    uri: "/anima/v1/agents/run", method: .post, headers: headers(d.admin),
                    body: ByteBuffer(string: #"{"task":"remember me","max_steps":1,"memory":"assistant"}"#)
                ) {
                    let events = String(buffer: $0.body)
                    if run == 0 {
                        #expect(events.contains("\"name\":\"core_memory_append\""))
                        #expect(events.contains("event: tool_result") && events.contains("core_memory_append: "), "\(events)")
                    } else {
                        #expect(!events.contains("event: tool_result"), "\(events)")
                    }
                    #expect(events.contains("event: exited"))
                }
            }
        }
        #expect(
            d.daemon.audit.records.contains { record in
                guard record.syscall == "call_tool", record.summary.hasPrefix("core_memory_append"),
                    case .denied(let reason) = record.outcome
                else { return false }
                return reason.contains("depends on memory")
            })
        // Both runs went to alice's agent: each its task, the call and its result.
        let snapshot = try await #require(d.memory).snapshot(user: "alice", agent: "assistant")
        #expect(snapshot.messages == 6)
    }

    @Test func hugeAndOutOfRangeNumbersAreRefusedNotTrapped() async throws {
        let d = try await TestDaemon()
        try await d.test { client in
            for body in [
                #"{"task":"x","max_seconds":-6964815758794155106212474750238720}"#, #"{"task":"x","max_steps":1e300}"#,
                #"{"task":"x","temperature":-1.9e16}"#,
            ] {
                try await client.execute(
                    uri: "/anima/v1/processes", method: .post, headers: headers(d.admin), body: ByteBuffer(string: body)
                ) {
                    #expect($0.status == .badRequest, "\(body)")
                }
            }
        }
    }

    /// Query strings are read as HTTP clients write them (`application/x-www-form-urlencoded`):
    /// `+` is a space and `%2B` a plus; a broken escape is a 400 that says how to encode.
    @Test func queryStringsDecodePlusAsASpace() async throws {
        let d = try await TestDaemon(memory: true)
        try await d.test { client in
            for (path, value) in [("trip%20plan", #"{"value":1}"#), ("trip+budget", #"{"value":2}"#)] {
                try await client.execute(
                    uri: "/anima/v1/memory/\(path)", method: .put, headers: headers(d.admin), body: ByteBuffer(string: value)
                ) {
                    #expect($0.status == .ok)
                }
            }
            for (query, keys) in [("trip+plan", ["trip plan"]), ("trip%20plan", ["trip plan"]), ("trip%2B", ["trip+budget"])] {
                try await client.execute(uri: "/anima/v1/memory?prefix=\(query)", method: .get, headers: headers(d.admin)) {
                    #expect(json($0)["keys"] == .array(keys.map(JSONValue.string)), "prefix=\(query)")
                }
            }
            try await client.execute(uri: "/anima/v1/memory?prefix=trip%zz", method: .get, headers: headers(d.admin)) {
                #expect($0.status == .badRequest)
                #expect(json($0)["error"]?["message"]?.stringValue?.contains("prefix") == true)
            }
            try await client.execute(
                uri: "/anima/v1/agent-memory/notes/passages", method: .post, headers: headers(d.admin),
                body: ByteBuffer(string: #"{"text":"The spare key is under the blue pot."}"#)
            ) {
                #expect($0.status == .created)
            }
            try await client.execute(uri: "/anima/v1/agent-memory/search?q=spare+key&limit=1", method: .get, headers: headers(d.admin)) {
                #expect(json($0).arrayValue?.first?["text"] == "The spare key is under the blue pot.")
            }
        }
    }

    @Test func agentMemoryIsSearchedExtendedAndForgottenThroughTheKernel() async throws {
        let d = try await TestDaemon(memory: true)
        let bob = try await d.token(scopes: [.memory], user: "bob")
        try await d.test { client in
            try await client.execute(
                uri: "/anima/v1/agent-memory/notes/passages", method: .post, headers: headers(d.admin),
                body: ByteBuffer(string: #"{"text":"The spare key is under the blue pot.","tags":["home"]}"#)
            ) {
                #expect($0.status == .created)
                #expect(json($0)["id"] == 1)
            }
            try await client.execute(uri: "/anima/v1/agent-memory/search?q=spare%20key", method: .get, headers: headers(d.admin)) {
                #expect(json($0).arrayValue?.first?["text"] == "The spare key is under the blue pot.")
                #expect(json($0).arrayValue?.first?["kind"] == "passage")
                #expect(json($0).arrayValue?.first?["label"] == "home")
            }
            // Another user's search sees none of it.
            try await client.execute(uri: "/anima/v1/agent-memory/search?q=spare%20key", method: .get, headers: headers(bob)) {
                #expect(json($0).arrayValue?.isEmpty == true)
            }
            try await client.execute(uri: "/anima/v1/agent-memory/search", method: .get, headers: headers(d.admin)) {
                #expect($0.status == .badRequest)
            }
            try await client.execute(
                uri: "/anima/v1/agent-memory/notes/passages", method: .post, headers: headers(d.admin),
                body: ByteBuffer(string: #"{"text":"x","tags":[""]}"#)
            ) {
                #expect($0.status == .badRequest)
                #expect(json($0)["error"]?["message"]?.stringValue?.contains("tag") == true)
            }
            try await client.execute(
                uri: "/anima/v1/agent-memory/notes/forget", method: .post, headers: headers(d.admin), body: ByteBuffer(string: #"{}"#)
            ) {
                #expect($0.status == .badRequest)
            }
            try await client.execute(
                uri: "/anima/v1/agent-memory/notes/forget", method: .post, headers: headers(d.admin),
                body: ByteBuffer(string: #"{"passages":[1]}"#)
            ) {
                #expect(json($0)["erased"] == 1)
            }
            try await client.execute(uri: "/anima/v1/agent-memory/search?q=spare%20key", method: .get, headers: headers(d.admin)) {
                #expect(json($0).arrayValue?.isEmpty == true)
            }
        }
        #expect(d.daemon.audit.records.contains { $0.syscall == "memory.forget" && $0.owner == "alice" && $0.outcome == .completed })
    }

    @Test func memoryRoundTripAndAudit() async throws {
        let d = try await TestDaemon()
        let reader = try await d.token(scopes: [.audit], groups: ["users", "logs"])
        try await d.test { client in
            try await client.execute(
                uri: "/anima/v1/memory/trip", method: .put, headers: headers(d.admin),
                body: ByteBuffer(string: #"{"value":{"city":"Rome"}}"#)
            ) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/anima/v1/memory/trip", method: .get, headers: headers(d.admin)) {
                #expect(json($0)["value"]?["city"] == "Rome")
            }
            try await client.execute(uri: "/anima/v1/memory", method: .get, headers: headers(d.admin)) {
                #expect(json($0)["keys"] == ["trip"])
            }
            try await client.execute(uri: "/anima/v1/memory/trip", method: .delete, headers: headers(d.admin)) {
                #expect($0.status == .noContent)
            }
            try await client.execute(uri: "/anima/v1/memory/trip", method: .get, headers: headers(d.admin)) {
                #expect($0.status == .notFound)
            }
            // The audit scope alone is not enough: records hold every user's syscalls.
            try await client.execute(uri: "/anima/v1/audit?limit=1000", method: .get, headers: headers(d.admin)) { response in
                #expect(response.status == .forbidden)
                #expect(json(response)["error"]?["code"]?.stringValue == "missing_group")
            }
            try await client.execute(uri: "/anima/v1/audit?limit=1000", method: .get, headers: headers(reader)) { response in
                let calls = json(response).arrayValue?.compactMap { $0["syscall"]?.stringValue } ?? []
                #expect(calls.contains("memory.write") && calls.contains("memory.erase"))
            }
        }
    }

    @Test func everyRouteIsInTheOpenAPIDocument() async throws {
        let document = try JSONValue(parsing: OpenAPIDocument.json)
        let documented = Set(document["paths"]?.objectValue?.keys ?? [])
        let served = [
            "/health", "/openapi.json", "/metrics", "/v1/models", "/v1/models/{id}", "/v1/chat/completions", "/v1/completions",
            "/v1/embeddings", "/anima/v1/processes", "/anima/v1/processes/{pid}", "/anima/v1/processes/{pid}/signal",
            "/anima/v1/processes/{pid}/wait", "/anima/v1/agents/run", "/anima/v1/tools", "/anima/v1/tools/{name}",
            "/anima/v1/memory", "/anima/v1/memory/{key}", "/anima/v1/audit", "/anima/v1/agent-memory/search",
            "/anima/v1/agent-memory/{agent}/passages", "/anima/v1/agent-memory/{agent}/forget",
            "/anima/v1/agent-memory", "/anima/v1/agent-memory/{agent}",
            "/anima/v1/agent-memory/{agent}/page-ins",
            "/anima/v1/processes/{pid}/approvals", "/anima/v1/processes/{pid}/approvals/{id}",
        ] + [
            "/anima/v1/workflows", "/anima/v1/workflows/{name}", "/anima/v1/workflows/{name}/runs", "/anima/v1/workflows/{name}/webhook",
            "/anima/v1/runs", "/anima/v1/runs/{id}", "/anima/v1/runs/{id}/history", "/anima/v1/runs/{id}/cancel", "/anima/v1/runs/{id}/approve",
        ] + [
            // Voice (issue 23).
            "/v1/audio/transcriptions", "/v1/audio/speech",
            "/anima/v1/tasks", "/anima/v1/tasks/{id}", "/anima/v1/tasks/{id}/rating",
        ]
        #expect(documented == Set(served))
        let d = try await TestDaemon()
        try await d.test { client in
            try await client.execute(uri: "/openapi.json", method: .get, headers: headers(d.admin)) {
                #expect(json($0)["openapi"] == "3.1.0")
            }
            try await client.execute(uri: "/metrics", method: .get, headers: headers(d.admin)) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("anima_http_requests_total"))
            }
        }
    }

    /// Metrics are labelled by route template, so random paths (even without a token)
    /// cannot add series without bound.
    @Test func metricLabelsAreRouteTemplates() {
        let route = ErrorAndMetricsMiddleware.route
        #expect(route("/v1/chat/completions") == "/v1/chat/completions")
        #expect(route("/v1/models/") == "/v1/models")
        #expect(route("/anima/v1/processes/42/signal") == "/anima/v1/processes/{pid}/signal")
        #expect(route("/anima/v1/memory/holiday-plans") == "/anima/v1/memory/{key}")
        #expect(route("/mcp") == "/mcp")
        #expect(route("/health") == "/health")
        for junk in ["/", "/wp-admin/x", "/v1/chat/completions/extra", "/anima/v1/\(UUID().uuidString)"] {
            #expect(route(junk) == "unmatched")
        }
        #expect(ErrorAndMetricsMiddleware.routeTemplates.count > 20)
    }
}
