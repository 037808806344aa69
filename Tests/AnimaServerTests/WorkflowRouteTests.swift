import AnimaAutomation
import AnimaCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AnimaServer

@Suite("Daemon: workflow routes and webhooks")
struct WorkflowRouteTests {
    static let hook =
        #"{"name": "hook", "triggers": [{"type": "webhook"}], "steps": [{"id": "w", "type": "wait", "seconds": 0}], "output": "${inputs.title}"}"#

    @Test func aWebhookNeedsTheRightSignatureAndItsInputsAreLabelledWeb() async throws {
        let d = try await TestDaemon()
        let engine = d.daemon.automation
        try await d.test { client in
            var secret = ""
            try await client.execute(
                uri: "/anima/v1/workflows", method: .post, headers: headers(d.admin), body: ByteBuffer(string: Self.hook)
            ) {
                #expect($0.status == .created)
                secret = json($0)["webhook_secret"]?.stringValue ?? ""
            }
            #expect(secret.count == 64)
            let body = #"{"title": "it crashes"}"#
            var h: HTTPFields = [.contentType: "application/json"]
            try await client.execute(uri: "/anima/v1/workflows/hook/webhook", method: .post, headers: h, body: ByteBuffer(string: body)) {
                #expect($0.status == .unauthorized)
                #expect(json($0)["error"]?["code"] == "bad_signature")
            }
            h[.init(WebhookSignature.header)!] = WebhookSignature.sign(Array(body.utf8), secret: "guess")
            try await client.execute(uri: "/anima/v1/workflows/hook/webhook", method: .post, headers: h, body: ByteBuffer(string: body)) {
                #expect($0.status == .unauthorized)
            }
            // A signature is for one body: the same signature over another body fails.
            h[.init(WebhookSignature.header)!] = WebhookSignature.sign(Array(body.utf8), secret: secret)
            try await client.execute(
                uri: "/anima/v1/workflows/hook/webhook", method: .post, headers: h, body: ByteBuffer(string: #"{"title": "other"}"#)
            ) { #expect($0.status == .unauthorized) }
            var run = ""
            try await client.execute(uri: "/anima/v1/workflows/hook/webhook", method: .post, headers: h, body: ByteBuffer(string: body)) {
                #expect($0.status == .accepted)
                run = json($0)["run"]?.stringValue ?? ""
            }
            let finished = try await engine.wait(run)
            #expect(finished.status == .completed)
            #expect(finished.output?.value == "it crashes")
            #expect(finished.output?.label.sources.contains(.web) == true)
            #expect(finished.trigger == "webhook")
            // A workflow without a webhook trigger has no webhook, whatever the signature.
            try await client.execute(uri: "/anima/v1/workflows/nothere/webhook", method: .post, headers: h, body: ByteBuffer(string: body))
            {
                #expect($0.status == .notFound)
            }
        }
    }

    /// A webhook has no token, but a flood of calls (signed or not) meets the same
    /// per-minute limit a token does, per workflow: another workflow's hook still answers.
    @Test func aWebhookFloodIsRateLimitedPerWorkflow() async throws {
        let d = try await TestDaemon(requestsPerMinute: 3)
        try await d.test { client in
            try await client.execute(
                uri: "/anima/v1/workflows", method: .post, headers: headers(d.admin), body: ByteBuffer(string: Self.hook)
            ) { #expect($0.status == .created) }
            let h: HTTPFields = [.contentType: "application/json"]
            for _ in 0..<3 {
                try await client.execute(uri: "/anima/v1/workflows/hook/webhook", method: .post, headers: h, body: ByteBuffer(string: "{}"))
                {
                    #expect($0.status == .unauthorized)
                }
            }
            try await client.execute(uri: "/anima/v1/workflows/hook/webhook", method: .post, headers: h, body: ByteBuffer(string: "{}")) {
                #expect($0.status == .tooManyRequests)
                #expect($0.headers[.retryAfter] != nil)
            }
            try await client.execute(uri: "/anima/v1/workflows/other/webhook", method: .post, headers: h, body: ByteBuffer(string: "{}")) {
                #expect($0.status == .notFound)
            }
        }
    }

    @Test func runsAreTheOwnersAndNeedTheWorkflowsScope() async throws {
        let d = try await TestDaemon()
        let chatOnly = try await d.token(scopes: [.chat])
        let bob = try await d.token(scopes: [.workflows], user: "bob")
        try await d.test { client in
            let flow =
                #"{"name": "mine", "inputs": {"type": "object", "properties": {"n": {"type": "integer"}}}, "steps": [{"id": "w", "type": "wait", "seconds": 0}]}"#
            try await client.execute(uri: "/anima/v1/workflows", method: .post, headers: headers(chatOnly), body: ByteBuffer(string: flow))
            {
                #expect($0.status == .forbidden)
            }
            try await client.execute(
                uri: "/anima/v1/workflows", method: .post, headers: headers(d.admin),
                body: ByteBuffer(string: #"{"name": "x", "steps": [{"id": "s", "type": "http"}]}"#)
            ) {
                #expect($0.status == .badRequest)
                #expect(json($0)["error"]?["message"] == "step `s`, field `url`: is required")
            }
            try await client.execute(uri: "/anima/v1/workflows", method: .post, headers: headers(d.admin), body: ByteBuffer(string: flow)) {
                #expect($0.status == .created)
            }
            try await client.execute(
                uri: "/anima/v1/workflows/mine/runs", method: .post, headers: headers(d.admin),
                body: ByteBuffer(string: #"{"inputs": {"n": "x"}}"#)
            ) { #expect($0.status == .badRequest) }
            var run = ""
            try await client.execute(
                uri: "/anima/v1/workflows/mine/runs", method: .post, headers: headers(d.admin),
                body: ByteBuffer(string: #"{"inputs": {"n": 1}}"#)
            ) {
                #expect($0.status == .created)
                run = json($0)["id"]?.stringValue ?? ""
            }
            _ = try await d.daemon.automation.wait(run)
            try await client.execute(uri: "/anima/v1/runs/\(run)", method: .get, headers: headers(d.admin)) {
                #expect(json($0)["status"] == "completed")
                #expect(json($0)["steps"]?.arrayValue?.first?["key"] == .string("\(run)/w"))
            }
            try await client.execute(uri: "/anima/v1/runs/\(run)/history", method: .get, headers: headers(d.admin)) {
                #expect(json($0).arrayValue?.first?["event"] == "created")
            }
            // Runs, steps, their latency and the queue are Prometheus metrics.
            try await client.execute(uri: "/metrics", method: .get, headers: headers(d.admin)) { response in
                let text = String(buffer: response.body)
                for name in [
                    "anima_workflow_runs_total{status=\"completed\"}", "anima_workflow_steps_total", "anima_workflow_step_seconds",
                    "anima_workflow_queue_depth",
                ] {
                    #expect(text.contains(name), "\(name) is not among the metrics")
                }
            }
            // Bob sees neither alice's workflow nor her run, and cannot start it.
            try await client.execute(uri: "/anima/v1/runs/\(run)", method: .get, headers: headers(bob)) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/anima/v1/workflows/mine", method: .get, headers: headers(bob)) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/anima/v1/workflows/mine/runs", method: .post, headers: headers(bob)) {
                #expect($0.status == .forbidden)
            }
            try await client.execute(uri: "/anima/v1/runs", method: .get, headers: headers(bob)) { #expect(json($0) == []) }
        }
    }
}
