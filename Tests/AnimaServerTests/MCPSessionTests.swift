import AnimaCore
import AnimaKernel
import AnimaProcessor
import Foundation
import MCP
import Testing

@testable import AnimaServer

/// MCP over Streamable HTTP as a client drives it: initialize, then requests with the
/// session header; each answer arrives as a server-sent event.
struct MCPClient {
    let sessions: MCPSessions
    let principal: Principal
    let scopes: Set<Scope>?
    var session: String?
    var nextID = 1

    static let headers = ["Accept": "application/json, text/event-stream", "Content-Type": "application/json"]

    /// Sends one JSON-RPC request; returns the HTTP status and the JSON-RPC answer.
    mutating func send(_ method: String, _ params: JSONValue = .object(JSONObject())) async throws -> (status: Int, answer: JSONValue?) {
        let id = nextID
        nextID += 1
        var headers = Self.headers
        if let session { headers[HTTPHeaderName.sessionID] = session }
        let body: JSONValue = ["jsonrpc": "2.0", "id": .number(Double(id)), "method": .string(method), "params": params]
        let response = await sessions.handle(
            MCP.HTTPRequest(method: "POST", headers: headers, body: Data(body.jsonText.utf8), path: "/mcp"), principal: principal,
            scopes: scopes)
        if session == nil { session = response.headers[HTTPHeaderName.sessionID] }
        guard case .stream(let chunks, _) = response else {
            return (response.statusCode, response.bodyData.flatMap { try? JSONValue(parsing: String(decoding: $0, as: UTF8.self)) })
        }
        var text = ""
        for try await chunk in chunks {
            text += String(decoding: chunk, as: UTF8.self)
            for line in text.split(separator: "\n") where line.hasPrefix("data:") {
                if let answer = try? JSONValue(parsing: String(line.dropFirst(5))), answer["id"] == .number(Double(id)) {
                    return (response.statusCode, answer)
                }
            }
        }
        return (response.statusCode, nil)
    }

    mutating func initialize() async throws {
        let result = try await send(
            "initialize",
            ["protocolVersion": .string(MCP.Version.latest), "capabilities": [:], "clientInfo": ["name": "test", "version": "1"]])
        #expect(result.status == 200, "\(String(describing: result.answer))")
        _ = await sessions.handle(
            MCP.HTTPRequest(
                method: "POST", headers: Self.headers.merging([HTTPHeaderName.sessionID: session ?? ""]) { $1 },
                body: Data(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.utf8), path: "/mcp"),
            principal: principal, scopes: scopes)
    }

    /// Calls a tool; returns whether it failed and its text.
    mutating func call(_ tool: String, _ arguments: JSONValue) async throws -> (isError: Bool, text: String) {
        let result = try await send("tools/call", ["name": .string(tool), "arguments": arguments])
        let content = result.answer?["result"]
        return (
            content?["isError"]?.boolValue ?? true,
            content?["content"]?.arrayValue?.first?["text"]?.stringValue ?? "\(String(describing: result.answer))"
        )
    }
}

@Suite("Daemon: MCP sessions and scopes")
struct MCPSessionTests {
    static func sessions(idle: Duration = .seconds(1800), perUser: Int = 16, total: Int = 256) async throws -> MCPSessions {
        let memory = try await TestDaemon(memory: true)
        return MCPSessions(endpoint: MCPEndpoint(kernel: memory.daemon.kernel), idleTimeout: idle, perUser: perUser, total: total)
    }

    /// An `mcp`-only token reaches no further than it would over REST: running agents
    /// needs `agents`, memory needs `memory`; with those scopes the same calls work.
    @Test func mcpToolsNeedTheScopesOfTheirRESTRoutes() async throws {
        let sessions = try await Self.sessions()
        let alice = Principal(name: "alice", groups: ["users"])
        var narrow = MCPClient(sessions: sessions, principal: alice, scopes: [.mcp])
        try await narrow.initialize()
        let cases: [(tool: String, arguments: JSONValue, scope: String)] = [
            ("run_agent", ["task": "say hi"], "agents"), ("list_processes", [:], "agents"),
            ("memory_write", ["key": "k", "value": "secret"], "memory"), ("memory_read", ["key": "k"], "memory"),
            ("memory_list", [:], "memory"), ("memory_search", ["query": "secret"], "memory"),
        ]
        for (tool, arguments, scope) in cases {
            let result = try await narrow.call(tool, arguments)
            #expect(result.isError && result.text.contains("needs the \(scope) scope"), "\(tool): \(result.text)")
        }
        var wide = MCPClient(sessions: sessions, principal: alice, scopes: [.mcp, .memory, .agents])
        try await wide.initialize()
        #expect(try await wide.call("memory_write", ["key": "k", "value": "v"]).isError == false)
        #expect(try await wide.call("memory_read", ["key": "k"]).text.contains("v"))
        #expect(try await wide.call("list_processes", [:]).isError == false)
    }

    /// A call of a tool that does not exist says so without echoing a huge name whole; a body
    /// that is JSON in form but not in value (a number past a double's range) says why.
    @Test func unknownToolsAndUnreadableNumbersAreRefusedClearly() async throws {
        let sessions = try await Self.sessions()
        let name = String(repeating: "a", count: 100_000)
        // Without the tools scope the call is refused for it; with it, the tool is not there.
        for (scopes, says) in [(Set<Scope>([.mcp]), "needs the tools scope"), ([.mcp, .tools], "no tool named aaa")] {
            var client = MCPClient(sessions: sessions, principal: .root, scopes: scopes)
            try await client.initialize()
            let result = try await client.call(name, [:])
            #expect(result.isError && result.text.contains(says) && result.text.contains("a..."), "\(result.text.prefix(300))")
            #expect(result.text.count < 500, "the refusal echoed \(result.text.count) characters")
        }
        let problem = MCPSessions.envelopeProblem(Data(#"{"jsonrpc":"2.0","id":1e309,"method":"tools/list"}"#.utf8))
        #expect(problem?.hasPrefix("the body is not JSON: ") == true && problem?.contains("out of range") == true, "\(problem ?? "nil")")
    }

    /// Idle sessions end and then answer 404; a user's sessions are capped (the least
    /// recently used one closes), and so are all users' together (a clear refusal).
    @Test func sessionsExpireWhenIdleAndAreCapped() async throws {
        let alice = Principal(name: "alice", groups: ["users"])
        let shortLived = try await Self.sessions(idle: .milliseconds(300))
        var first = MCPClient(sessions: shortLived, principal: alice, scopes: nil)
        try await first.initialize()
        try await Task.sleep(for: .milliseconds(600))
        let expired = try await first.send("tools/list")
        #expect(expired.status == 404)
        #expect(await shortLived.count == 0)

        let sessions = try await Self.sessions(perUser: 2, total: 3)

        var a1 = MCPClient(sessions: sessions, principal: alice, scopes: nil)
        var a2 = MCPClient(sessions: sessions, principal: alice, scopes: nil)
        var a3 = MCPClient(sessions: sessions, principal: alice, scopes: nil)
        try await a1.initialize()
        try await a2.initialize()
        try await a3.initialize()
        #expect(await sessions.count == 2)
        #expect(try await a1.send("tools/list").status == 404)
        #expect(try await a3.send("tools/list").status == 200)

        var bob = MCPClient(sessions: sessions, principal: Principal(name: "bob", groups: ["users"]), scopes: nil)
        try await bob.initialize()
        var carol = MCPClient(sessions: sessions, principal: Principal(name: "carol", groups: ["users"]), scopes: nil)
        let refused = try await carol.send(
            "initialize",
            ["protocolVersion": .string(MCP.Version.latest), "capabilities": [:], "clientInfo": ["name": "test", "version": "1"]])
        #expect(refused.status == 503)
        _ = a2
    }
}
