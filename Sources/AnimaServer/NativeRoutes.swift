import AnimaCore
import AnimaKernel
import AnimaMemory
import AnimaProcessor
import AnimaSecurity
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The kernel's syscalls over HTTP with JSON, under `/anima/v1`: processes, agents (with
/// their events streamed as server-sent events), memory, tools and the audit trail.
/// Described by `/openapi.json`.
struct NativeRoutes {
    let kernel: Kernel
    let audit: MemoryAuditTrail
    let maxRequestBytes: Int
    /// Where searches that met damaged memory are reported (the daemon's log).
    var logger = Logger(label: "anima")
    /// Seconds long work (agent runs, tool calls, waits) may go on after shutdown begins.
    var shutdownGrace = 10

    func register(on router: Router<AnimaRequestContext>) {
        let api = router.group("anima/v1")
        api.get("processes") { _, context in
            let token = try context.authorize(.agents)
            return Response.json(.array(try await kernel.processes(visibleTo: token.principal).map(Self.json)))
        }
        api.post("processes") { request, context in
            let token = try context.authorize(.agents)
            var spec = try Self.spec(try await body(request))
            spec.tools = try await Self.checkTools(spec.tools, kernel: kernel)
            spec.actions = try Self.checkActions(spec.actions, tools: spec.tools)
            if spec.memory != nil { _ = try context.authorize(.memory) }
            let pid = try await kernel.spawn(spec, owner: token.principal)
            return Response.json(["pid": .number(Double(pid.rawValue))], status: .created)
        }
        api.get("processes/:pid") { _, context in
            let token = try context.authorize(.agents)
            let status = try await visibleStatus(try Self.pid(context), to: token.principal)
            return Response.json(Self.json(status))
        }
        api.post("processes/:pid/signal") { request, context in
            let token = try context.authorize(.agents)
            let pid = try Self.pid(context)
            _ = try await visibleStatus(pid, to: token.principal)
            let body = try await body(request)
            guard let name = body["signal"]?.stringValue, let signal = Signal(rawValue: name) else {
                throw APIError.badRequest(
                    "signal must be one of \(Signal.allCases.map(\.rawValue).joined(separator: ", "))", param: "signal")
            }
            try await kernel.signal(pid, signal, from: token.principal)
            return Response.json(Self.json(try await visibleStatus(pid, to: token.principal)))
        }
        api.get("processes/:pid/wait") { _, context in
            let token = try context.authorize(.agents)
            let pid = try Self.pid(context)
            _ = try await visibleStatus(pid, to: token.principal)
            // A client that leaves stops waiting; the process, started by its own request, runs on.
            _ = try await WaitingClient.run(context, grace: shutdownGrace) { try await kernel.wait(pid) }
            return Response.json(Self.json(try await visibleStatus(pid, to: token.principal)))
        }
        // Questions about an agent's tool calls (see Approvals): its owner (or root) answers.
        api.get("processes/:pid/approvals") { _, context in
            let token = try context.authorize(.agents)
            let pid = try Self.pid(context)
            _ = try await visibleStatus(pid, to: token.principal)
            return Response.json(.array(await kernel.approvals.pending(for: pid).map(\.json)))
        }
        api.post("processes/:pid/approvals/:id") { request, context in
            let token = try context.authorize(.agents)
            let pid = try Self.pid(context)
            _ = try await visibleStatus(pid, to: token.principal)
            let id = try context.pathParameter("id")
            guard let approve = try await body(request)["approve"]?.boolValue else {
                throw APIError.badRequest("approve must be true (run the call) or false (deny it)", param: "approve")
            }
            do {
                try await kernel.approvals.answer(id, about: pid, approve: approve, by: token.principal)
            } catch let error as ApprovalError {
                switch error {
                case .unknown: throw APIError(.notFound, error.description, code: "not_found")
                case .alreadyAnswered: throw APIError(.conflict, error.description, code: "already_answered")
                }
            }
            return Response.json(["id": .string(id), "approved": .bool(approve)])
        }
        api.post("agents/run") { request, context in
            let token = try context.authorize(.agents)
            var spec = try Self.spec(try await body(request))
            spec.tools = try await Self.checkTools(spec.tools, kernel: kernel)
            spec.actions = try Self.checkActions(spec.actions, tools: spec.tools)
            if spec.memory != nil { _ = try context.authorize(.memory) }
            return try await runAgent(spec, as: token.principal, context)
        }
        api.get("tools") { _, context in
            _ = try context.authorize(.tools)
            return Response.json(.array(await kernel.toolDefinitions.map(\.openAIJSON)))
        }
        api.post("tools/:name") { request, context in
            let token = try context.authorize(.tools)
            let name = try context.pathParameter("name")
            let body = try await body(request)
            let call = ToolCall(
                id: "api-" + UUID().uuidString.prefix(8).lowercased(), name: name, arguments: body["arguments"] ?? .object(JSONObject()))
            let result = try await WaitingClient.run(context, grace: shutdownGrace) {
                try await kernel.invoke(.callTool(call), as: token.principal, name: "api-tool")
            }
            guard case .toolOutput(let output) = result else {
                throw APIError(.internalServerError, "the tool returned no output", type: "server_error")
            }
            return Response.json(["output": .string(output.text), "is_error": .bool(output.isError)])
        }
        api.get("memory") { request, context in
            let token = try context.authorize(.memory)
            let prefix = try request.queryParameter("prefix") ?? ""
            guard case .keys(let keys) = try await kernel.invoke(.memory(.list(prefix: prefix)), as: token.principal, name: "api-memory")
            else {
                throw APIError(.internalServerError, "unexpected memory result", type: "server_error")
            }
            return Response.json(["keys": .array(keys.map(JSONValue.string))])
        }
        api.get("memory/:key") { _, context in
            let token = try context.authorize(.memory)
            let key = try context.pathParameter("key")
            guard case .value(let value) = try await kernel.invoke(.memory(.read(key: key)), as: token.principal, name: "api-memory") else {
                throw APIError(.internalServerError, "unexpected memory result", type: "server_error")
            }
            guard let value else { throw APIError(.notFound, "no memory under \(key)", code: "not_found") }
            return Response.json(["key": .string(key), "value": value])
        }
        api.put("memory/:key") { request, context in
            let token = try context.authorize(.memory)
            let key = try context.pathParameter("key")
            let body = try await body(request)
            guard let value = body["value"] else { throw APIError.badRequest("value is required", param: "value") }
            _ = try await kernel.invoke(.memory(.write(key: key, value: value)), as: token.principal, name: "api-memory")
            return Response.json(["key": .string(key), "value": value])
        }
        api.delete("memory/:key") { _, context in
            let token = try context.authorize(.memory)
            _ = try await kernel.invoke(.memory(.erase(key: try context.pathParameter("key"))), as: token.principal, name: "api-memory")
            return Response(status: .noContent)
        }
        // The persistent memory of the caller's agents (what `anima run --memory` keeps).
        api.get("agent-memory/search") { request, context in
            let token = try context.authorize(.memory)
            let search = try Self.memorySearch(request)
            guard
                case .records(let result) = try await kernel.invoke(
                    .memory(.search(search)), as: token.principal, name: "api-memory")
            else { throw APIError(.internalServerError, "unexpected memory result", type: "server_error") }
            var response = Response.json(.array(result.records.map(MemoryWire.json)))
            // The body stays an array; whether there is a next page, and the count of
            // records left out, travel beside it.
            response.headers[Self.hasMoreHeader] = result.hasMore ? "true" : "false"
            if result.damaged > 0 {
                response.headers[Self.damagedRecordsHeader] = String(result.damaged)
                MemorySearchResult.log(damaged: result.damaged, user: token.principal.name, to: logger)
            }
            return response
        }
        // One passage ({"text", ...}) or a batch ({"passages": [...]}, all or nothing); a
        // batch is one request, so it counts once against the token's rate limit.
        api.post("agent-memory/:agent/passages") { request, context in
            let token = try context.authorize(.memory)
            let agent = try context.pathParameter("agent")
            try Self.checkAgentName(agent, param: "agent")
            let body = try await body(request)
            let passages: [NewMemoryPassage]
            let batch = body["passages"] != nil
            if batch {
                guard body.count == 1, case .array(let list) = body["passages"]! else {
                    throw APIError.badRequest(
                        "a batch is {\"passages\": [ {\"text\": ...}, ... ]} with nothing beside the array", param: "passages")
                }
                guard (1...MemorySystem.maximumBatch).contains(list.count) else {
                    throw APIError.badRequest(
                        "a batch holds 1 to \(MemorySystem.maximumBatch) passages, not \(list.count); send larger imports in several batches",
                        param: "passages")
                }
                passages = try list.enumerated().map { index, item in
                    do { return try MemoryWire.passage(item) } catch let error as APIError {
                        throw APIError.badRequest("passages[\(index)]: \(error.message)", param: "passages[\(index)]")
                    }
                }
            } else {
                passages = [try MemoryWire.passage(.object(body))]
            }
            guard
                case .inserted(let ids) = try await kernel.invoke(
                    .memory(.insert(agent: agent, passages: passages)), as: token.principal, name: "api-memory")
            else { throw APIError(.internalServerError, "unexpected memory result", type: "server_error") }
            if batch { return Response.json(["ids": .array(ids.map { .number(Double($0)) })], status: .created) }
            return Response.json(["id": .number(Double(ids[0]))], status: .created)
        }
        // What `anima memory show` prints, for the CLI while a daemon holds the store.
        api.get("agent-memory") { _, context in
            let token = try context.authorize(.memory)
            guard case .agents(let agents) = try await kernel.invoke(.memory(.agents), as: token.principal, name: "api-memory") else {
                throw APIError(.internalServerError, "unexpected memory result", type: "server_error")
            }
            var rows: [JSONValue] = []
            for agent in agents {
                guard
                    case .snapshot(let snapshot) = try await kernel.invoke(
                        .memory(.show(agent: agent)), as: token.principal, name: "api-memory")
                else { throw APIError(.internalServerError, "unexpected memory result", type: "server_error") }
                rows.append(
                    [
                        "agent": .string(agent), "messages": .number(Double(snapshot.messages)),
                        "passages": .number(Double(snapshot.passages)),
                    ])
            }
            return Response.json(["agents": .array(rows)])
        }
        api.get("agent-memory/:agent") { _, context in
            let snapshot = try await memorySnapshot(context)
            return Response.json(MemoryWire.json(snapshot))
        }
        api.post("agent-memory/:agent/forget") { request, context in
            let token = try context.authorize(.memory)
            let agent = try context.pathParameter("agent")
            try Self.checkAgentName(agent, param: "agent")
            let body = try await body(request)
            let all = body["all"]?.boolValue ?? false
            let messages = try Self.ids(body["messages"], param: "messages")
            let passages = try Self.ids(body["passages"], param: "passages")
            guard all == (messages == nil && passages == nil) else {
                throw APIError.badRequest("say what to forget: messages and/or passages (arrays of IDs), or all: true", param: "all")
            }
            guard
                case .erased(let count) = try await kernel.invoke(
                    .memory(.forget(agent: agent, recallIDs: all ? nil : messages ?? [], archivalIDs: all ? nil : passages ?? [])),
                    as: token.principal, name: "api-memory")
            else { throw APIError(.internalServerError, "unexpected memory result", type: "server_error") }
            return Response.json(["erased": .number(Double(count))])
        }
        // Which records an agent's pager brought into its context, and why (issue 18): ids,
        // scores and reasons of its newest page-ins, no text.
        api.get("agent-memory/:agent/page-ins") { _, context in
            let snapshot = try await memorySnapshot(context)
            return Response.json(.array(snapshot.pageIns.map(MemoryWire.json)))
        }
        api.get("audit") { request, context in
            let token = try context.authorize(.audit)
            // Records name every user's syscalls: the same `logs` group as `anima audit`.
            guard token.principal.isRoot || token.groups.contains("logs") else {
                throw APIError(
                    .forbidden,
                    "reading the audit trail needs the logs group; ask root to `anima grant \(token.user) logs` and create a token with `--group logs`",
                    type: "permission_error", code: "missing_group")
            }
            let after =
                try request.queryParameter("after").map {
                    try WireNumber.integer(text: $0, field: "after", in: 0...UInt64(ChatWire.exactIntegers))
                } ?? 0
            let limit =
                try request.queryParameter("limit").map { try WireNumber.integer(text: $0, field: "limit", in: 1...1000) } ?? 100
            let records = audit.records.filter { $0.sequence > after }.prefix(limit)
            return Response.json(.array(records.map(Self.json)))
        }
    }

    func body(_ request: Request) async throws -> JSONObject { try await request.jsonObject(limit: maxRequestBytes) }

    /// The memory of the agent the path names, as the caller may see it (needs the memory scope).
    func memorySnapshot(_ context: AnimaRequestContext) async throws -> AgentMemorySnapshot {
        let token = try context.authorize(.memory)
        let agent = try context.pathParameter("agent")
        try Self.checkAgentName(agent, param: "agent")
        guard
            case .snapshot(let snapshot) = try await kernel.invoke(
                .memory(.show(agent: agent)), as: token.principal, name: "api-memory")
        else { throw APIError(.internalServerError, "unexpected memory result", type: "server_error") }
        return snapshot
    }

    /// The status of `pid` if the principal may see it; otherwise "not found", so other
    /// users' processes are not even confirmed to exist.
    func visibleStatus(_ pid: PID, to principal: Principal) async throws -> ProcessStatus {
        guard let status = await kernel.status(pid), principal.isRoot || status.owner == principal.name else {
            throw APIError(.notFound, "no process with pid \(pid)", code: "not_found")
        }
        return status
    }

    /// Runs an agent, streaming its events. It is terminated when the client hangs up (even
    /// between events, during a long step), and `shutdownGrace` seconds after the server
    /// begins to shut down; its `exited` event then ends the stream.
    func runAgent(_ spec: AgentSpec, as principal: Principal, _ context: AnimaRequestContext) async throws -> Response {
        let events = await kernel.events()
        let pid = try await kernel.spawn(spec, owner: principal)
        let kernel = kernel
        // While the stream is open its client can answer the agent's questions.
        await kernel.approvals.watch(pid)
        let watch = WaitingClient.watch(context, grace: shutdownGrace) { _ in
            await kernel.approvals.unwatch(pid)
            try? await kernel.signal(pid, .terminate)
        }
        let body = ResponseBody { writer in
            try await watch.whileStreaming {
                do {
                    try await writer.write(ServerSentEvents.event(named: "spawned", ["pid": .number(Double(pid.rawValue))]))
                    for await event in events {
                        guard let (name, data, last) = Self.agentEvent(event, pid: pid) else { continue }
                        try await writer.write(ServerSentEvents.event(named: name, data))
                        if last { break }
                    }
                    watch.finished()
                    await kernel.approvals.unwatch(pid)
                    try await writer.finish(nil)
                } catch {
                    await kernel.approvals.unwatch(pid)
                    try? await kernel.signal(pid, .terminate)  // the client went away
                    throw error
                }
            }
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    static func agentEvent(_ event: KernelEvent, pid: PID) -> (String, JSONValue, Bool)? {
        switch event {
        case .text(let p, let text) where p == pid: return ("text", ["text": .string(text)], false)
        case .toolCall(let p, let call) where p == pid: return ("tool_call", ChatWire.toolCallJSON(call), false)
        case .toolResult(let p, let output) where p == pid:
            return ("tool_result", ["output": .string(output.text), "is_error": .bool(output.isError)], false)
        case .stateChanged(let p, let state) where p == pid: return ("state", ["state": .string(state.description)], false)
        case .exited(let p, let status) where p == pid: return ("exited", exitJSON(status), true)
        case .approvalRequested(let p, let request) where p == pid: return ("approval", request.json, false)
        case .approvalSettled(let p, let id, let approved) where p == pid:
            return ("approval_settled", ["id": .string(id), "approved": .bool(approved)], false)
        default: return nil
        }
    }

    static func pid(_ context: AnimaRequestContext) throws -> PID {
        let raw = try context.pathParameter("pid")
        return PID(try WireNumber.integer(text: raw, field: "pid", in: 1...UInt32.max))
    }

    /// The tools `selectors` choose (full names, MCP servers, globs; see `ToolSelection`).
    /// Refuses selectors that choose nothing, naming what the daemon has: an agent asked to
    /// use a tool must not run without it as if nothing were wrong.
    static func checkTools(_ selectors: [String], kernel: Kernel) async throws -> [String] {
        let known = await kernel.toolDefinitions.map(\.name)
        do {
            return try ToolSelection.resolve(selectors, among: known)
        } catch {
            throw APIError.badRequest(
                known.isEmpty
                    ? "\(error); start the daemon with tools (`anima serve --tools NAMES`, or MCP servers in mcp.json)" : "\(error)",
                param: "tools")
        }
    }

    static func spec(_ body: JSONObject) throws -> AgentSpec {
        guard let task = body["task"]?.stringValue, !task.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw APIError.badRequest("task is required", param: "task")
        }
        func int(_ key: String, _ range: ClosedRange<Int>) throws -> Int? { try WireNumber.integer(body[key], field: key, in: range) }
        let tools =
            try body["tools"].map { (v: JSONValue) throws -> [String] in
                guard case .array(let list) = v, list.allSatisfy({ $0.stringValue != nil }) else {
                    throw APIError.badRequest("tools must be an array of tool names", param: "tools")
                }
                return list.map { $0.stringValue! }
            } ?? []
        // The action set, given explicitly (see AgentSpec.actions); absent: the model decides it.
        let actions = try body["actions"].map { (v: JSONValue) throws -> [String] in
            guard case .array(let list) = v, list.allSatisfy({ $0.stringValue != nil }) else {
                throw APIError.badRequest("actions must be an array of tool names, servers or globs", param: "actions")
            }
            return list.map { $0.stringValue! }
        }
        let wall = try int("max_seconds", 1...86_400)
        let temperature = try WireNumber.number(body["temperature"], field: "temperature", in: 0...2) ?? 0
        let memory = body["memory"]?.stringValue
        if let memory { try checkAgentName(memory, param: "memory") }
        return AgentSpec(
            name: body["name"]?.stringValue ?? "api-agent", task: task, systemPrompt: body["system"]?.stringValue, tools: tools,
            priority: try int("priority", -20...20) ?? 0,
            quotas: Quotas(
                tokens: try int("max_tokens", 1...10_000_000), toolCalls: try int("max_tool_calls", 0...100_000),
                wallTime: wall.map { .seconds($0) }),
            limits: .init(maxSteps: try int("max_steps", 1...1000) ?? 8),
            sampling: .init(temperature: temperature, maxTokensPerStep: try int("tokens_per_step", 1...100_000) ?? 256),
            memory: memory, privacy: try PrivacyWire.label(body["privacy"]), actions: actions)
    }

    /// The agent's explicit action set with servers expanded to their tools; each selector
    /// must choose among the agent's own tools.
    static func checkActions(_ selectors: [String]?, tools: [String]) throws -> [String]? {
        guard let selectors else { return nil }
        do { return try ToolSelection.resolve(selectors, among: tools) } catch {
            throw APIError.badRequest("actions: \(error)", param: "actions")
        }
    }

    static func exitJSON(_ status: ExitStatus) -> JSONValue {
        var object = JSONObject()
        object["status"] = .string(status.description)
        if case .completed(let answer) = status { object["answer"] = .string(answer) }
        return .object(object)
    }

    static func json(_ p: ProcessStatus) -> JSONValue {
        var usage = JSONObject()
        usage["prompt_tokens"] = .number(Double(p.usage.promptTokens))
        usage["generated_tokens"] = .number(Double(p.usage.generatedTokens))
        usage["tool_calls"] = .number(Double(p.usage.toolCalls))
        usage["syscalls"] = .number(Double(p.usage.syscalls))
        var object = JSONObject()
        object["pid"] = .number(Double(p.pid.rawValue))
        object["parent"] = p.parent.map { .number(Double($0.rawValue)) } ?? .null
        object["name"] = .string(p.name)
        object["owner"] = .string(p.owner)
        object["groups"] = .array(p.groups.map(JSONValue.string))
        object["state"] = .string(p.state.description)
        object["priority"] = .number(Double(p.priority))
        object["usage"] = .object(usage)
        object["slot"] = p.slot.map { .number(Double($0)) } ?? .null
        object["started"] = .string(ISO8601DateFormatter().string(from: p.started))
        if case .exited(let status) = p.state { object["exit"] = exitJSON(status) }
        return .object(object)
    }

    /// The storage layer's rule for agent names, as a 400 naming the parameter.
    static func checkAgentName(_ name: String, param: String) throws {
        if let problem = MemorySystem.problem(withAgentName: name) {
            throw APIError.badRequest("\(param): \(problem)", param: param)
        }
    }

    static func strings(_ value: JSONValue?, param: String) throws -> [String] {
        guard let value, value != .null else { return [] }
        guard case .array(let list) = value, list.allSatisfy({ $0.stringValue != nil }) else {
            throw APIError.badRequest("\(param) must be an array of strings", param: param)
        }
        return list.compactMap(\.stringValue)
    }

    static func ids(_ value: JSONValue?, param: String) throws -> [Int64]? {
        guard let value, value != .null else { return nil }
        guard case .array(let list) = value, list.count <= 10_000, list.allSatisfy({ $0.numberValue != nil }) else {
            throw APIError.badRequest("\(param) must be an array of positive integer IDs", param: param)
        }
        var ids: [Int64] = []
        for (i, id) in list.enumerated() { ids.append(try WireNumber.integer(id, field: "\(param)[\(i)]", in: 1...9_000_000_000_000_000)!) }
        return ids
    }

    /// A memory search from the query string: q (required), agent, limit and offset over the whole result, after/before (when records
    /// happened), tags and sources (comma-separated).
    static func memorySearch(_ request: Request) throws -> MemorySearchRequest {
        let agent = try request.queryParameter("agent")
        if let agent { try checkAgentName(agent, param: "agent") }
        let depth = MemorySearchRequest.maximumDepth
        guard let text = try request.queryParameter("q"), !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw APIError.badRequest("q (what to look for) is required", param: "q")
        }
        var search = MemorySearchRequest(text: text, agent: agent)
        search.limit = try request.queryParameter("limit").map { try WireNumber.integer(text: $0, field: "limit", in: 1...depth) } ?? 10
        search.offset =
            try request.queryParameter("offset").map { try WireNumber.integer(text: $0, field: "offset", in: 0...(depth - 1)) } ?? 0
        search.after = try request.queryParameter("after").map { try MemoryWire.date(text: $0, field: "after") }
        search.before = try request.queryParameter("before").map { try MemoryWire.date(text: $0, field: "before") }
        search.tags = (try request.queryParameter("tags") ?? "").split(separator: ",").map(String.init).filter {
            !$0.trimmingCharacters(in: .whitespaces).isEmpty
        }
        search.sources = try request.queryParameter("sources").map { try MemoryWire.sources(text: $0) } ?? []
        if let problem = search.problem { throw APIError.badRequest(problem, param: "offset") }
        if let after = search.after, let before = search.before, after >= before {
            throw APIError.badRequest("the date range is empty: after must be earlier than before", param: "after")
        }
        return search
    }

    static func json(_ r: AuditRecord) -> JSONValue {
        let outcome: JSONValue =
            switch r.outcome {
            case .completed: ["result": "completed"]
            case .denied(let reason): ["result": "denied", "reason": .string(reason)]
            case .failed(let reason): ["result": "failed", "reason": .string(reason)]
            }
        return [
            "sequence": .number(Double(r.sequence)), "time": .string(ISO8601DateFormatter().string(from: r.time)),
            "pid": .number(Double(r.pid.rawValue)), "owner": .string(r.owner), "syscall": .string(r.syscall),
            "summary": .string(r.summary), "outcome": outcome,
        ]
    }
}

extension NativeRoutes {
    /// How many damaged memory records a search left out (absent when none).
    static let damagedRecordsHeader = HTTPFields.Element.Name("Anima-Damaged-Records")!
    /// Whether a memory search has a next page (`true` or `false`).
    static let hasMoreHeader = HTTPFields.Element.Name("Anima-Has-More")!
}

extension MemorySearchResult {
    /// A warning in the daemon's log: how many records a search left out, and what to do.
    static func log(damaged: Int, user: String, to logger: Logger) {
        guard let warning = MemorySearchResult(records: [], damaged: damaged).damageWarning else { return }
        logger.warning("memory search for \(user): \(warning)")
    }
}
