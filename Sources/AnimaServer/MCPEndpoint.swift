import AnimaCore
import AnimaKernel
import AnimaMemory
import Foundation
import Hummingbird
import Logging
import MCP

/// Anima as an MCP server: any MCP client can run agents, list processes, use the
/// caller's memory and call the kernel's tools, each as a syscall of the caller's
/// principal, so the same permissions, quotas and audit apply as everywhere else.
///
/// Served over stdio (`anima mcp`) and over Streamable HTTP at `/mcp` on the daemon.
public struct MCPEndpoint: Sendable {
    let kernel: Kernel
    /// Where searches that met damaged memory are reported (the daemon's log).
    let logger: Logger

    public init(kernel: Kernel, logger: Logger = Logger(label: "anima")) {
        self.kernel = kernel
        self.logger = logger
    }

    /// An MCP server acting for `principal`.
    /// - Parameters:
    ///   - scopes: what the caller's token grants; each tool needs the scope its REST
    ///     route needs. Nil (stdio, the user's own process) grants every scope.
    public func server(for principal: Principal, scopes: Set<Scope>? = nil) async -> Server {
        let server = Server(name: "anima", version: "0.1.0", capabilities: .init(tools: .init(listChanged: false)))
        let kernel = kernel
        let logger = logger
        let tools = await kernel.toolDefinitions
        await server.withMethodHandler(ListTools.self) { _ in
            .init(
                tools: Self.builtIns
                    + tools.map { Tool(name: $0.name, description: $0.description, inputSchema: $0.parameters.json.mcpValue) })
        }
        await server.withMethodHandler(CallTool.self) { [weak server] params in
            let arguments = JSONValue.object(JSONObject((params.arguments ?? [:]).map { ($0.key, JSONValue(mcp: $0.value)) }))
            do {
                let needed = Self.scope(for: params.name)
                if let scopes, !scopes.contains(needed) {
                    throw SyscallError.permissionDenied(
                        syscall: params.name,
                        reason:
                            "the tool \(params.name) needs the \(needed.rawValue) scope, as its REST route does; create a token with `anima token create --scope mcp --scope \(needed.rawValue)`"
                    )
                }
                let text = try await Self.call(
                    params.name, arguments, kernel: kernel, as: principal, logger: logger, approver: server.map(Self.elicitation))
                return .init(content: [.text(text)], isError: false)
            } catch {
                return .init(content: [.text("error: \(error)")], isError: true)
            }
        }
        return server
    }

    static let builtIns: [Tool] = [
        Tool(
            name: "run_agent", description: "Run an Anima agent on a task and return its answer.",
            inputSchema: ([
                "type": "object",
                "properties": [
                    "task": ["type": "string", "description": "What the agent should do."],
                    "max_steps": ["type": "integer", "minimum": 1, "maximum": 50],
                    "tools": [
                        "type": "array", "items": ["type": "string"],
                        "description": "Tools the agent may call: names, MCP servers (all their tools) or globs such as mail__send_*.",
                    ],
                    "private": ["type": "boolean", "description": "The task holds private data: every model call stays on this machine."],
                ],
                "required": ["task"],
            ] as JSONValue).mcpValue),
        Tool(
            name: "list_processes", description: "List the caller's agent processes.",
            inputSchema: (["type": "object", "properties": [:]] as JSONValue).mcpValue),
        Tool(
            name: "memory_write", description: "Store a value under a key in the caller's memory.",
            inputSchema: (["type": "object", "properties": ["key": ["type": "string"], "value": [:]], "required": ["key", "value"]]
                as JSONValue).mcpValue),
        Tool(
            name: "memory_read", description: "Read the value under a key in the caller's memory.",
            inputSchema: (["type": "object", "properties": ["key": ["type": "string"]], "required": ["key"]] as JSONValue).mcpValue),
        Tool(
            name: "memory_list", description: "List the keys in the caller's memory that start with a prefix.",
            inputSchema: (["type": "object", "properties": ["prefix": ["type": "string"]]] as JSONValue).mcpValue),
        Tool(
            name: "memory_search",
            description: "Search what the caller's agents remember (their conversations and archival memory) by words and meaning.",
            inputSchema: ([
                "type": "object",
                "properties": [
                    "query": ["type": "string", "description": "What to look for."],
                    "agent": ["type": "string", "description": "Only this agent's memory."],
                    "limit": ["type": "integer", "minimum": 1, "maximum": 1000, "description": "Results in all (default 10)."],
                    "offset": [
                        "type": "integer", "minimum": 0, "maximum": 999, "description": "Results to skip (offset + limit <= 1000).",
                    ],
                    "after": [
                        "type": "string", "description": "Only records that happened at or after this date (2024-05-07 or ISO 8601).",
                    ],
                    "before": ["type": "string", "description": "Only records that happened before this date."],
                    "tags": ["type": "array", "items": ["type": "string"], "description": "Only passages with all these tags."],
                    "sources": [
                        "type": "array", "items": ["enum": ["user", "agent", "tool", "import"]],
                        "description": "Only records from these sources.",
                    ],
                ],
                "required": ["query"],
            ] as JSONValue).mcpValue),
        Tool(
            name: "memory_insert",
            description:
                "Save passages to an agent's archival memory in one transaction (all or none); each may say when it happened.",
            inputSchema: ([
                "type": "object",
                "properties": [
                    "agent": ["type": "string", "description": "The agent whose memory receives the passages."],
                    "passages": [
                        "type": "array", "minItems": 1, "maxItems": 10000,
                        "items": [
                            "type": "object",
                            "properties": [
                                "text": ["type": "string"], "tags": ["type": "array", "items": ["type": "string"]],
                                "happened": ["type": "string", "description": "When it happened: 2024-05-07 or ISO 8601."],
                                "source": ["enum": ["user", "agent", "tool", "import"]],
                                "trust": ["enum": ["untrusted", "unverified", "trusted"]],
                            ],
                            "required": ["text"],
                        ],
                    ],
                ],
                "required": ["agent", "passages"],
            ] as JSONValue).mcpValue),
    ]

    /// The scope the REST equivalent of tool `name` needs, so an `mcp` token reaches no
    /// further than the same token would over REST.
    static func scope(for name: String) -> Scope {
        switch name {
        case "run_agent", "list_processes": .agents
        case "memory_write", "memory_read", "memory_list", "memory_search", "memory_insert": .memory
        default: .tools
        }
    }

    /// Asks the MCP client's user about an agent's tool call by elicitation (a yes/no
    /// form); nil when the client cannot be asked (it did not declare elicitation, or left).
    static func elicitation(_ server: Server) -> Approvals.Approver {
        { [weak server] request in
            guard let server else { return nil }
            let schema = Elicitation.RequestSchema(
                title: "Allow \(request.tool)?", description: "An Anima agent wants to make this call.",
                properties: [
                    "approve": [
                        "type": "boolean", "title": "Allow this call",
                        "description": "Yes runs the call once; no denies it and the agent is told so.",
                    ]
                ], required: ["approve"])
            do {
                let result = try await server.requestElicitation(message: request.question, requestedSchema: schema)
                return result.action == .accept && result.content?["approve"]?.boolValue == true
            } catch {
                return nil
            }
        }
    }

    static func call(
        _ name: String, _ arguments: JSONValue, kernel: Kernel, as principal: Principal, logger: Logger,
        approver: Approvals.Approver? = nil
    ) async throws -> String {
        switch name {
        case "run_agent":
            guard let task = arguments["task"]?.stringValue, !task.isEmpty else { throw SyscallError.invalidArguments("task is required") }
            let steps = try WireNumber.integer(arguments["max_steps"], field: "max_steps", in: 1...50) ?? 8
            let selectors = arguments["tools"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let tools: [String]
            do {
                tools = try ToolSelection.resolve(selectors, among: await kernel.toolDefinitions.map(\.name))
            } catch {
                throw SyscallError.invalidArguments("\(error)")
            }
            let privacy: PrivacyLabel = arguments["private"]?.boolValue == true ? .private : .public
            let pid = try await kernel.spawn(
                AgentSpec(name: "mcp-agent", task: task, tools: tools, limits: .init(maxSteps: steps), privacy: privacy), owner: principal)
            // The client's user answers the agent's questions, by elicitation.
            if let approver { await kernel.approvals.attach(approver, to: pid, name: "the MCP client") }
            // A cancelled call (the client hung up, or the server's grace period ran out) ends its agent.
            let status: ExitStatus
            do {
                status = try await withTaskCancellationHandler {
                    try await kernel.wait(pid)
                } onCancel: {
                    Task { try? await kernel.signal(pid, .terminate) }
                }
            } catch {
                await kernel.approvals.detach(pid)
                throw error
            }
            await kernel.approvals.detach(pid)
            switch status {
            case .completed(let answer): return answer
            case let other: throw SyscallError.failed("the agent did not finish: \(other)")
            }
        case "list_processes":
            let rows = await kernel.processes(visibleTo: principal).map { "\($0.pid) \($0.state) \($0.name)" }
            return rows.isEmpty ? "no processes" : rows.joined(separator: "\n")
        case "memory_write":
            guard let key = arguments["key"]?.stringValue, let value = arguments["value"] else {
                throw SyscallError.invalidArguments("key and value are required")
            }
            _ = try await kernel.invoke(.memory(.write(key: key, value: value)), as: principal, name: "mcp-memory")
            return "stored \(key)"
        case "memory_read":
            guard let key = arguments["key"]?.stringValue else { throw SyscallError.invalidArguments("key is required") }
            guard case .value(let value) = try await kernel.invoke(.memory(.read(key: key)), as: principal, name: "mcp-memory") else {
                throw SyscallError.failed("unexpected memory result")
            }
            return value?.jsonText ?? "no value under \(key)"
        case "memory_list":
            let prefix = arguments["prefix"]?.stringValue ?? ""
            guard case .keys(let keys) = try await kernel.invoke(.memory(.list(prefix: prefix)), as: principal, name: "mcp-memory") else {
                throw SyscallError.failed("unexpected memory result")
            }
            return keys.joined(separator: "\n")
        case "memory_search":
            guard let query = arguments["query"]?.stringValue, !query.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw SyscallError.invalidArguments("query is required")
            }
            let search = try memorySearch(query, arguments)
            guard case .records(let result) = try await kernel.invoke(.memory(.search(search)), as: principal, name: "mcp-memory")
            else {
                throw SyscallError.failed("unexpected memory result")
            }
            let dated = result.records.map {
                "[\($0.rank). \($0.agent) \($0.kind.rawValue) \($0.id), \(MemoryWire.timestamp($0.happenedAt)), \($0.source)] \($0.text)"
            }
            var found = dated.isEmpty ? "nothing found" : dated.joined(separator: "\n")
            if result.hasMore { found += "\n(more: ask again with offset \(search.offset + search.limit))" }
            guard let warning = result.damageWarning else { return found }
            MemorySearchResult.log(damaged: result.damaged, user: principal.name, to: logger)
            return found + "\n\nwarning: " + warning
        case "memory_insert":
            guard let agent = arguments["agent"]?.stringValue else { throw SyscallError.invalidArguments("agent is required") }
            guard let list = arguments["passages"]?.arrayValue, (1...MemorySystem.maximumBatch).contains(list.count) else {
                throw SyscallError.invalidArguments("passages must be an array of 1 to \(MemorySystem.maximumBatch) passages")
            }
            let passages = try list.enumerated().map { index, item in
                do { return try MemoryWire.passage(item) } catch let error as APIError {
                    throw SyscallError.invalidArguments("passages[\(index)]: \(error.message)")
                }
            }
            guard
                case .inserted(let ids) = try await kernel.invoke(
                    .memory(.insert(agent: agent, passages: passages)), as: principal, name: "mcp-memory")
            else { throw SyscallError.failed("unexpected memory result") }
            return "saved \(ids.count) passage\(ids.count == 1 ? "" : "s") to \(agent): ids \(ids.map(String.init).joined(separator: ", "))"
        default:
            let call = ToolCall(id: "mcp-" + UUID().uuidString.prefix(8).lowercased(), name: name, arguments: arguments)
            guard case .toolOutput(let output) = try await kernel.invoke(.callTool(call), as: principal, name: "mcp-tool") else {
                throw SyscallError.failed("the tool returned no output")
            }
            if output.isError { throw SyscallError.failed(output.text) }
            return output.text
        }
    }

    /// A memory search from MCP arguments, refused with the argument's name when wrong.
    static func memorySearch(_ query: String, _ arguments: JSONValue) throws -> MemorySearchRequest {
        var search = MemorySearchRequest(text: query, agent: arguments["agent"]?.stringValue)
        do {
            search.limit = try WireNumber.integer(arguments["limit"], field: "limit", in: 1...MemorySearchRequest.maximumDepth) ?? 10
            search.offset = try WireNumber.integer(arguments["offset"], field: "offset", in: 0...MemorySearchRequest.maximumDepth - 1) ?? 0
            search.after = try MemoryWire.date(arguments["after"], field: "after")
            search.before = try MemoryWire.date(arguments["before"], field: "before")
            search.tags = try MemoryWire.tags(arguments["tags"])
            if let sources = arguments["sources"], sources != .null {
                guard let names = sources.arrayValue?.compactMap(\.stringValue), names.count == sources.arrayValue?.count else {
                    throw SyscallError.invalidArguments("sources must be an array of \(MemorySource.names)")
                }
                search.sources = try MemoryWire.sources(text: names.joined(separator: ","))
            }
        } catch let error as APIError {
            throw SyscallError.invalidArguments(error.message)
        }
        if let problem = search.problem { throw SyscallError.invalidArguments(problem) }
        return search
    }

    /// Serves MCP over standard input and output until the client disconnects.
    public func runStdio(as principal: Principal) async throws {
        let server = await server(for: principal)
        try await server.start(transport: StdioTransport())
        await server.waitUntilCompleted()
    }
}

/// Streamable HTTP sessions at /mcp: one MCP server per session, bound to the user whose
/// token opened it and limited to that token's scopes.
///
/// Sessions end when the client DELETEs them or after `idleTimeout` without a request;
/// a user holds at most `perUser` (opening one more closes that user's least recently
/// used), and all users together at most `total` (then opening one is refused until some
/// end). An ended or unknown session answers 404, so the client starts a new one, as the
/// MCP specification says.
actor MCPSessions {
    private struct Session {
        let transport: StatefulHTTPServerTransport
        let server: Server
        let user: String
        var lastUsed: ContinuousClock.Instant
    }

    private struct FixedID: SessionIDGenerator {
        let id: String
        func generateSessionID() -> String { id }
    }

    let endpoint: MCPEndpoint
    let idleTimeout: Duration
    let perUser: Int
    let total: Int
    private var sessions: [String: Session] = [:]

    init(endpoint: MCPEndpoint, idleTimeout: Duration = .seconds(1800), perUser: Int = 16, total: Int = 256) {
        self.endpoint = endpoint
        self.idleTimeout = idleTimeout
        self.perUser = perUser
        self.total = total
    }

    /// How many sessions are open (after ending idle ones).
    var count: Int {
        get async {
            await endIdle()
            return sessions.count
        }
    }

    func handle(_ request: MCP.HTTPRequest, principal: Principal, scopes: Set<Scope>? = nil) async -> MCP.HTTPResponse {
        if request.method.uppercased() == "POST", let body = request.body, let problem = Self.envelopeProblem(body) {
            return .error(statusCode: 400, .invalidRequest("Bad Request: \(problem)"))
        }
        await endIdle()
        if let id = request.header(HTTPHeaderName.sessionID) {
            guard let session = sessions[id], session.user == principal.name else {
                return .error(
                    statusCode: 404,
                    .invalidRequest("Not Found: no such MCP session (it ended or expired); send initialize to start a new one"))
            }
            sessions[id]?.lastUsed = .now
            let response = await session.transport.handleRequest(request)
            sessions[id]?.lastUsed = .now
            if request.method.uppercased() == "DELETE", response.statusCode == 200 {
                sessions[id] = nil
                await session.server.stop()
            }
            return response
        }
        guard request.method.uppercased() == "POST", let body = request.body,
            (try? JSONValue(parsing: String(decoding: body, as: UTF8.self)))?["method"]?.stringValue == "initialize"
        else {
            return .error(
                statusCode: 400, .invalidRequest("Bad Request: send initialize first, then the \(HTTPHeaderName.sessionID) header"))
        }
        let mine = sessions.filter { $0.value.user == principal.name }
        if mine.count >= perUser, let oldest = mine.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
            sessions[oldest.key] = nil
            await oldest.value.server.stop()
        }
        guard sessions.count < total else {
            return .error(
                statusCode: 503,
                .internalError("Service Unavailable: \(total) MCP sessions are open; end one (DELETE /mcp) or retry when idle ones expire"))
        }
        let id = UUID().uuidString
        let transport = StatefulHTTPServerTransport(sessionIDGenerator: FixedID(id: id))
        let server = await endpoint.server(for: principal, scopes: scopes)
        do {
            try await server.start(transport: transport)
        } catch {
            return .error(statusCode: 500, .internalError("could not start an MCP session: \(error)"))
        }
        sessions[id] = Session(transport: transport, server: server, user: principal.name, lastUsed: .now)
        let response = await transport.handleRequest(request)
        if case .error = response {
            sessions[id] = nil
            await server.stop()
        }
        return response
    }

    /// Ends every session idle for longer than `idleTimeout`.
    private func endIdle() async {
        let deadline = ContinuousClock.now - idleTimeout
        let idle = sessions.filter { $0.value.lastUsed < deadline }
        for (id, session) in idle {
            sessions[id] = nil
            await session.server.stop()
        }
    }

    /// Why `body` is not a JSON-RPC 2.0 message (or batch) the MCP transport can answer, or nil.
    /// The transport leaves a request it cannot decode (say `"id": true`) unanswered, holding
    /// the client's stream open forever: the fuzz suite found that, so it is refused here.
    static func envelopeProblem(_ body: Data) -> String? {
        guard let value = try? JSONValue(parsing: String(decoding: body, as: UTF8.self)) else { return "the body is not JSON" }
        let messages = value.arrayValue ?? [value]
        if messages.isEmpty { return "an empty batch" }
        for message in messages {
            guard let object = message.objectValue else { return "a JSON-RPC message must be an object" }
            guard object["jsonrpc"] == "2.0" else { return "jsonrpc must be \"2.0\"" }
            switch object["id"] {
            case nil, .string?: break
            case .number(let n)?:
                guard (try? WireNumber.integer(n, field: "id", in: -ChatWire.exactIntegers...ChatWire.exactIntegers)) != nil else {
                    return "a numeric id must be a whole number within ±2^53"
                }
            default: return "id must be a string or a number"
            }
            if let method = object["method"] {
                guard method.stringValue?.isEmpty == false else { return "method must be a non-empty string" }
                if let params = object["params"], params.objectValue == nil, params.arrayValue == nil {
                    return "params must be an object or an array"
                }
            } else if object["id"] == nil || (object["result"] == nil && object["error"] == nil) {
                return "a message needs a method, or an id with a result or an error"
            }
        }
        return nil
    }

    /// Registers /mcp (POST, GET, DELETE) on the router.
    ///
    /// The calls a request carries are cancelled (an agent run is terminated) when its client
    /// hangs up, and `shutdownGrace` seconds after the server begins to shut down.
    nonisolated func register(on router: Router<AnimaRequestContext>, maxRequestBytes: Int, shutdownGrace: Int = 10) {
        let handler: @Sendable (Request, AnimaRequestContext) async throws -> Response = { request, context in
            let token = try context.authorize(.mcp)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let body = try await request.body.collect(upTo: maxRequestBytes)
            let mcpRequest = MCP.HTTPRequest(
                method: request.method.rawValue, headers: headers,
                body: body.readableBytes > 0 ? Data(buffer: body) : nil, path: request.uri.path)
            let calls = Self.requestIDs(in: mcpRequest)
            guard !calls.isEmpty else {
                return Self.response(await self.handle(mcpRequest, principal: token.principal, scopes: Set(token.scopes)))
            }
            let watch = WaitingClient.watch(context, grace: shutdownGrace) { _ in
                await self.cancel(calls, of: mcpRequest, principal: token.principal)
            }
            let answer = try await watch.whileStreaming {
                await self.handle(mcpRequest, principal: token.principal, scopes: Set(token.scopes))
            }
            return Self.response(answer, watch: watch)
        }
        router.post("mcp", use: handler)
        router.get("mcp", use: handler)
        router.delete("mcp", use: handler)
    }

    /// The JSON-RPC request IDs in a POST body (its calls, which a client may wait long for).
    static func requestIDs(in request: MCP.HTTPRequest) -> [JSONValue] {
        guard request.method.uppercased() == "POST", let body = request.body,
            let value = try? JSONValue(parsing: String(decoding: body, as: UTF8.self))
        else { return [] }
        return (value.arrayValue ?? [value]).compactMap { message in
            guard message["method"] != nil, let id = message["id"], id != .null else { return nil }
            return id
        }
    }

    /// Cancels calls of `request` still running in its session, as a client would with
    /// `notifications/cancelled`; calls already answered are not affected.
    func cancel(_ ids: [JSONValue], of request: MCP.HTTPRequest, principal: Principal) async {
        guard let id = request.header(HTTPHeaderName.sessionID), let session = sessions[id], session.user == principal.name else { return }
        for call in ids {
            let notification: JSONValue = [
                "jsonrpc": "2.0", "method": "notifications/cancelled",
                "params": ["requestId": call, "reason": "the client left, or the server is shutting down"],
            ]
            let cancel = MCP.HTTPRequest(
                method: "POST", headers: request.headers, body: Data(notification.jsonText.utf8), path: request.path)
            _ = await session.transport.handleRequest(cancel)
        }
    }

    static func response(_ mcp: MCP.HTTPResponse, watch: WaitingClient.Watch? = nil) -> Response {
        var fields = HTTPFields()
        for (name, value) in mcp.headers {
            if let field = HTTPFields.Element.Name(name) { fields[field] = value }
        }
        let status = HTTPResponse.Status(code: mcp.statusCode)
        switch mcp {
        case .stream(let chunks, _):
            let body = ResponseBody { writer in
                if let watch {
                    try await watch.whileStreaming {
                        for try await chunk in chunks { try await writer.write(ByteBuffer(bytes: chunk)) }
                    }
                    watch.finished()
                } else {
                    for try await chunk in chunks { try await writer.write(ByteBuffer(bytes: chunk)) }
                }
                try await writer.finish(nil)
            }
            return Response(status: status, headers: fields, body: body)
        default:
            watch?.finished()
            let data = mcp.bodyData ?? Data()
            return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }
}

extension JSONValue {
    init(mcp value: MCP.Value) {
        switch value {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .number(Double(i))
        case .double(let d): self = .number(d)
        case .string(let s): self = .string(s)
        case .data(_, let data): self = .string(data.base64EncodedString())
        case .array(let items): self = .array(items.map(JSONValue.init(mcp:)))
        case .object(let members): self = .object(JSONObject(members.sorted { $0.key < $1.key }.map { ($0.key, JSONValue(mcp: $0.value)) }))
        }
    }

    var mcpValue: MCP.Value {
        switch self {
        case .null: .null
        case .bool(let b): .bool(b)
        case .number(let n): n.rounded() == n && abs(n) < 1e15 ? MCP.Value.int(Int(n)) : MCP.Value.double(n)
        case .string(let s): .string(s)
        case .array(let items): .array(items.map(\.mcpValue))
        case .object(let members): .object(Dictionary(uniqueKeysWithValues: members.map { ($0.key, $0.value.mcpValue) }))
        }
    }
}
