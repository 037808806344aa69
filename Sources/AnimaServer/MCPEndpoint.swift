import AnimaAutomation
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
    /// The daemon's workflows, offered as the workflow_* tools; nil offers none.
    let automation: WorkflowEngine?

    public init(kernel: Kernel, logger: Logger = Logger(label: "anima"), automation: WorkflowEngine? = nil) {
        self.kernel = kernel
        self.logger = logger
        self.automation = automation
    }

    /// An MCP server acting for `principal`.
    /// - Parameters:
    ///   - scopes: what the caller's token grants; each tool needs the scope its REST
    ///     route needs. Nil (stdio, the user's own process) grants every scope.
    public func server(for principal: Principal, scopes: Set<Scope>? = nil) async -> Server {
        let server = Server(name: "anima", version: "0.1.0", capabilities: .init(tools: .init(listChanged: false)))
        let kernel = kernel
        let logger = logger
        let automation = automation
        let tools = await kernel.toolDefinitions
        await server.withMethodHandler(ListTools.self) { _ in
            .init(
                tools: Self.builtIns + (automation == nil ? [] : MCPWorkflowTools.tools)
                    + tools.map { Tool(name: $0.name, description: $0.description, inputSchema: $0.parameters.json.mcpValue) })
        }
        await server.withMethodHandler(CallTool.self) { [weak server] params in
            let arguments = JSONValue.object(JSONObject((params.arguments ?? [:]).map { ($0.key, JSONValue(mcp: $0.value)) }))
            do {
                let needed = Self.scope(for: params.name)
                if let scopes, !scopes.contains(needed) {
                    let name = params.name.clipped(120)
                    throw SyscallError.permissionDenied(
                        syscall: name,
                        reason:
                            "the tool \(name) needs the \(needed.rawValue) scope, as its REST route does; create a token with `anima token create --scope mcp --scope \(needed.rawValue)`"
                    )
                }
                let text =
                    if let automation, MCPWorkflowTools.names.contains(params.name) {
                        try await MCPWorkflowTools.call(params.name, arguments, engine: automation, as: principal)
                    } else {
                        try await Self.call(
                            params.name, arguments, kernel: kernel, as: principal, logger: logger, approver: server.map(Self.elicitation))
                    }
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
                    "query": [
                        "type": "string", "description": "What to look for; leave out to list the newest records matching the filters.",
                    ],
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
        case let name where MCPWorkflowTools.names.contains(name): .workflows
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
            guard arguments["query"] == nil || arguments["query"] == .null || arguments["query"]?.stringValue != nil else {
                throw SyscallError.invalidArguments("query must be a string")
            }
            let search = try memorySearch(arguments["query"]?.stringValue ?? "", arguments)
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
