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
        let kernel = kernel
        // While the stream is open its client can answer the agent's questions, from the first step on.
        let pid = try await kernel.spawn(spec, owner: principal) { await kernel.approvals.watch($0) }
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
