import AnimaCore
import AnimaKernel
import AnimaMemory
import AnimaProcessor
import AnimaSecurity
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The native routes' wire shapes: request fields checked and read, kernel values as JSON.
extension NativeRoutes {
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
        case .toolDenied(let p, let call, let reason) where p == pid:
            return ("tool_denied", ["function": ChatWire.toolCallJSON(call)["function"] ?? .null, "reason": .string(reason)], false)
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

    /// The agent's explicit action set with servers expanded to their tools, each keeping
    /// the values it fixes (`bank__send_money(recipient=alice)`, see `ActionSelector`); each
    /// selector must choose among the agent's own tools.
    static func checkActions(_ selectors: [String]?, tools: [String]) throws -> [String]? {
        guard let selectors else { return nil }
        do { return try ActionSelector.resolve(selectors, among: tools) } catch {
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
        object["started"] = .string(p.started.formatted(.iso8601))  // a formatter made per process cost ~50 µs each
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

    /// A memory search from the query string: q (or, without it, a listing by the filters), agent, limit and offset over the whole result, after/before (when records
    /// happened), tags and sources (comma-separated).
    static func memorySearch(_ request: Request) throws -> MemorySearchRequest {
        let agent = try request.queryParameter("agent")
        if let agent { try checkAgentName(agent, param: "agent") }
        let depth = MemorySearchRequest.maximumDepth
        // Without q (or with a blank one), the newest records matching the filters.
        var search = MemorySearchRequest(text: try request.queryParameter("q") ?? "", agent: agent)
        search.limit = try request.queryParameter("limit").map { try WireNumber.integer(text: $0, field: "limit", in: 1...depth) } ?? 10
        search.offset =
            try request.queryParameter("offset").map { try WireNumber.integer(text: $0, field: "offset", in: 0...(depth - 1)) } ?? 0
        search.after = try request.queryParameter("after").map { try MemoryWire.date(text: $0, field: "after") }
        search.before = try request.queryParameter("before").map { try MemoryWire.date(text: $0, field: "before") }
        search.tags = (try request.queryParameter("tags") ?? "").split(separator: ",").map(String.init).filter {
            !$0.trimmingCharacters(in: .whitespaces).isEmpty
        }
        search.sources = try request.queryParameter("sources").map { try MemoryWire.sources(text: $0) } ?? []
        if search.isListing && !search.hasFilter {
            throw APIError.badRequest("q or a filter is needed: \(MemorySearchRequest.listingNeedsFilter)", param: "q")
        }
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
