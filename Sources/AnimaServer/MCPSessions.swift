import AnimaCore
import AnimaKernel
import AnimaMemory
import Foundation
import Hummingbird
import Logging
import MCP

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
        let value: JSONValue
        do { value = try JSONValue(parsing: String(decoding: body, as: UTF8.self)) } catch { return "the body is not JSON: \(error)" }
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
