import AnimaAutomation
import AnimaCore
import Foundation
import Hummingbird
import NIOCore

/// Workflows over HTTP under `/anima/v1`: add, list, show, remove, run, inspect, cancel and
/// approve (the `workflows` scope), and one webhook per workflow, authenticated by its
/// HMAC signature instead of a bearer token. Runs act as the workflow's owner.
struct WorkflowRoutes {
    let engine: WorkflowEngine
    let maxRequestBytes: Int

    static let webhookSuffix = "/webhook"

    /// True for the webhook route, which the signature authenticates instead of a token.
    static func isWebhook(_ request: Request) -> Bool {
        let path = request.uri.path
        return request.method == .post && path.hasPrefix("/anima/v1/workflows/") && path.hasSuffix(webhookSuffix)
            && path.split(separator: "/").count == 5
    }

    func register(on router: Router<AnimaRequestContext>) {
        let api = router.group("anima/v1")
        let store = engine.store
        api.get("workflows") { _, context in
            let token = try context.authorize(.workflows)
            let all = try await Self.mapped { try await store.workflows() }
            return Response.json(.array(all.filter { token.principal.isRoot || $0.owner.name == token.principal.name }.map(Self.json)))
        }
        api.post("workflows") { request, context in
            let token = try context.authorize(.workflows)
            let text = String(buffer: try await request.body.collect(upTo: maxRequestBytes))
            let (workflow, secret) = try await Self.mapped { try await engine.add(text, owner: token.principal) }
            var o: JSONObject = ["name": .string(workflow.name), "version": .number(Double(workflow.version))]
            if let secret { o["webhook_secret"] = .string(secret) }
            return Response.json(.object(o), status: .created)
        }
        api.get("workflows/:name") { _, context in
            let token = try context.authorize(.workflows)
            let stored = try await visibleWorkflow(try context.parameters.require("name"), to: token.principal)
            var o = Self.json(stored).objectValue ?? [:]
            o["definition"] = stored.workflow.source
            return Response.json(.object(o))
        }
        api.delete("workflows/:name") { _, context in
            let token = try context.authorize(.workflows)
            let name = try context.parameters.require("name")
            try await Self.mapped { try await engine.remove(name, caller: token.principal) }
            return Response.json(["removed": .string(name)])
        }
        api.post("workflows/:name/runs") { request, context in
            let token = try context.authorize(.workflows)
            let name = try context.parameters.require("name")
            let body = try await Self.jsonBody(request, limit: maxRequestBytes)
            let inputs = body["inputs"] ?? .object([:])
            let run = try await Self.mapped { try await engine.start(name, inputs: inputs, caller: token.principal, trigger: "api") }
            return Response.json(run.json, status: .created)
        }
        api.post("workflows/:name/webhook") { request, context in
            let name = try context.parameters.require("name")
            let bytes = try await request.body.collect(upTo: maxRequestBytes)
            guard let stored = try await Self.mapped({ try await store.workflow(named: name) }),
                stored.workflow.triggers.contains(.webhook),
                let secret = stored.webhookSecret
            else {
                // The same answer whether the workflow is missing or has no webhook: no probing.
                throw APIError(.notFound, "no webhook for workflow \(name)", code: "not_found")
            }
            let body = Array(bytes.readableBytesView)
            try await Self.mapped {
                try WebhookSignature.verify(body, signature: request.headers[.init(WebhookSignature.header)!], secret: secret)
            }
            let text = String(decoding: body, as: UTF8.self)
            let parsed = try? JSONValue(parsing: text)
            let inputs: JSONValue = parsed?.objectValue != nil ? parsed! : ["body": .string(text)]
            // What a webhook sends is untrusted: labelled `web`, it may fill bodies but never choose a URL.
            let run = try await Self.mapped {
                try await engine.start(name, inputs: inputs, label: ProvenanceLabel(.web), caller: stored.owner, trigger: "webhook")
            }
            return Response.json(["run": .string(run.id), "status": .string(run.status.rawValue)], status: .accepted)
        }
        api.get("runs") { request, context in
            let token = try context.authorize(.workflows)
            let workflow = request.uri.queryParameters.get("workflow")
            let limit = request.uri.queryParameters.get("limit").map { Int($0) } ?? 50
            guard let limit, (1...10_000).contains(limit) else { throw APIError.badRequest("limit must be 1 to 10000", param: "limit") }
            let runs = try await Self.mapped { try await store.runs(workflow: workflow, limit: limit) }
            return Response.json(.array(runs.filter { token.principal.isRoot || $0.owner.name == token.principal.name }.map(\.json)))
        }
        api.get("runs/:id") { _, context in
            let token = try context.authorize(.workflows)
            let run = try await visibleRun(try context.parameters.require("id"), to: token.principal)
            var o = run.json.objectValue ?? [:]
            let steps = try await Self.mapped { try await store.steps(run: run.id) }
            o["steps"] = .array(steps.map(Self.json))
            return Response.json(.object(o))
        }
        api.get("runs/:id/history") { _, context in
            let token = try context.authorize(.workflows)
            let run = try await visibleRun(try context.parameters.require("id"), to: token.principal)
            return Response.json(.array(try await Self.mapped { try await store.history(run: run.id) }.map(\.json)))
        }
        api.post("runs/:id/cancel") { _, context in
            let token = try context.authorize(.workflows)
            let run = try await visibleRun(try context.parameters.require("id"), to: token.principal)
            let asked = try await Self.mapped { try await engine.cancel(run.id, caller: token.principal) }
            return Response.json(["run": .string(run.id), "cancelling": .bool(asked)])
        }
        api.post("runs/:id/approve") { request, context in
            let token = try context.authorize(.workflows)
            let run = try await visibleRun(try context.parameters.require("id"), to: token.principal)
            let body = try await Self.jsonBody(request, limit: maxRequestBytes)
            guard let step = body["step"]?.stringValue else { throw APIError.badRequest("step is required", param: "step") }
            let approved = body["approved"]?.boolValue ?? true
            try await Self.mapped { try await engine.approve(run.id, step: step, approved: approved, caller: token.principal) }
            return Response.json(["run": .string(run.id), "step": .string(step), "approved": .bool(approved)])
        }
    }

    func visibleWorkflow(_ name: String, to principal: Principal) async throws -> StoredWorkflow {
        guard let stored = try await Self.mapped({ try await engine.store.workflow(named: name) }),
            principal.isRoot || stored.owner.name == principal.name
        else { throw APIError(.notFound, WorkflowError.unknownWorkflow(name).description, code: "not_found") }
        return stored
    }

    func visibleRun(_ id: String, to principal: Principal) async throws -> WorkflowRun {
        guard let run = try await Self.mapped({ try await engine.store.run(id) }), principal.isRoot || run.owner.name == principal.name
        else { throw APIError(.notFound, WorkflowError.unknownRun(id).description, code: "not_found") }
        return run
    }

    static func jsonBody(_ request: Request, limit: Int) async throws -> JSONValue {
        let bytes = try await request.body.collect(upTo: limit)
        if bytes.readableBytes == 0 { return .object([:]) }
        do {
            let value = try JSONValue(parsing: String(buffer: bytes))
            guard value.objectValue != nil else { throw APIError.badRequest("the body must be a JSON object") }
            return value
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.badRequest("the body is not JSON: \(error)")
        }
    }

    /// Runs `body`, turning workflow errors into the API's statuses.
    static func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as WorkflowError {
            switch error {
            case .unknownWorkflow, .unknownRun: throw APIError(.notFound, error.description, code: "not_found")
            case .denied: throw APIError(.forbidden, error.description, type: "permission_error")
            case .badSignature: throw APIError(.unauthorized, error.description, type: "authentication_error", code: "bad_signature")
            case .storage, .stepFailed, .timedOut, .cancelled: throw APIError(.internalServerError, error.description, type: "server_error")
            case .unreadable, .invalid, .badInputs: throw APIError.badRequest(error.description)
            }
        }
    }

    static func json(_ stored: StoredWorkflow) -> JSONValue {
        [
            "name": .string(stored.workflow.name), "version": .number(Double(stored.workflow.version)), "owner": .string(stored.owner.name),
            "description": .string(stored.workflow.description), "steps": .number(Double(stored.workflow.allSteps.count)),
            "triggers": .array(stored.workflow.triggers.map { .string($0.name) }),
        ]
    }

    static func json(_ s: StepRecord) -> JSONValue {
        var o: JSONObject = [
            "step": .string(s.path), "status": .string(s.status.rawValue), "attempt": .number(Double(s.attempt)), "key": .string(s.key),
        ]
        if let output = s.output {
            o["output"] = output.value
            o["label"] = .string(output.label.description)
        }
        if let error = s.error { o["error"] = .string(error) }
        return .object(o)
    }
}
