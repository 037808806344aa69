import AnimaAutomation
import AnimaCore
import Foundation
import Hummingbird
import NIOCore

/// Macro tasks over HTTP under `/anima/v1` (the `agents` scope): start one (`anima do`),
/// list, show with its graph and subtasks, rate. A task runs as the token's principal.
struct TaskRoutes {
    let orchestrator: Orchestrator
    let maxRequestBytes: Int

    func register(on router: Router<AnimaRequestContext>) {
        let api = router.group("anima/v1")
        let store = orchestrator.store
        let orchestrator = self.orchestrator
        let limit = maxRequestBytes
        api.post("tasks") { request, context in
            let token = try context.authorize(.agents)
            let body = try await WorkflowRoutes.jsonBody(request, limit: limit)
            guard let goal = body["goal"]?.stringValue else { throw APIError.badRequest("the body needs a \"goal\" string") }
            var plan: TaskGraph?
            if let json = body["plan"], json != .null {
                do { plan = try TaskGraph(json: json, goal: goal) } catch { throw APIError.badRequest("\(error)") }
            }
            let (task, pid) = try await Self.mapped { try await orchestrator.start(goal: goal, owner: token.principal, plan: plan) }
            return Response.json(["task": .string(task), "pid": .number(Double(pid.rawValue)), "state": "planning"], status: .accepted)
        }
        api.get("tasks") { _, context in
            let token = try context.authorize(.agents)
            let tasks = try await Self.mapped { try await store.list(owner: token.principal.name) }
            return Response.json(.array(tasks.map(Self.summary)))
        }
        api.get("tasks/:id") { _, context in
            let token = try context.authorize(.agents)
            let id = try context.parameters.require("id")
            let task = try await Self.mapped { try await store.task(id, owner: token.principal.name) }
            return Response.json(Self.detail(task))
        }
        api.post("tasks/:id/rating") { request, context in
            let token = try context.authorize(.agents)
            let id = try context.parameters.require("id")
            let body = try await WorkflowRoutes.jsonBody(request, limit: limit)
            guard let verdict = body["verdict"]?.stringValue, verdict == "up" || verdict == "down" else {
                throw APIError.badRequest("the body needs \"verdict\": \"up\" or \"down\"")
            }
            try await Self.mapped { try await store.rate(id, owner: token.principal.name, up: verdict == "up") }
            return Response.json(["task": .string(id), "rating": .number(verdict == "up" ? 1 : -1)])
        }
    }

    static func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as TaskError {
            switch error {
            case .notFound: throw APIError(.notFound, error.description, code: "not_found")
            case .storage, .testRunner: throw APIError(.internalServerError, error.description, type: "server_error")
            default: throw APIError.badRequest(error.description)
            }
        }
    }

    static func summary(_ task: TaskRecord) -> JSONValue {
        [
            "id": .string(task.id), "goal": .string(task.goal), "state": .string(task.state.rawValue), "owner": .string(task.owner),
            "rating": task.rating.map { .number(Double($0)) } ?? .null,
            "created": .string(ISO8601DateFormatter().string(from: task.created)),
        ]
    }

    static func detail(_ task: TaskRecord) -> JSONValue {
        var out = summary(task).objectValue ?? JSONObject()
        out["graph"] = task.graph?.json ?? .null
        out["report"] = task.report.map { .string($0) } ?? .null
        out["nodes"] = .array(
            task.nodes.map { node in
                [
                    "id": .string(node.id), "role": .string(node.role.rawValue), "state": .string(node.state.rawValue),
                    "attempts": .number(Double(node.attempts)), "pid": node.pid.map { .number(Double($0)) } ?? .null,
                    "output": node.output ?? .null, "outcome": node.outcome ?? .null, "error": node.error.map { .string($0) } ?? .null,
                    "rating": node.rating.map { .number(Double($0)) } ?? .null,
                ]
            })
        return .object(out)
    }
}
