import AnimaCore
import AnimaKernel
import AnimaProcessor
import AnimaTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import AnimaServer

/// A daemon serving several models (`anima serve --models … --max-models N`): the OpenAI
/// routes list them, and a request's model field picks the one that answers.
@Suite("A daemon with several resident models")
struct ResidentModelsRouteTests {
    @Test func theModelFieldPicksTheModelAndUnknownNamesAre404() async throws {
        let directory = NSTemporaryDirectory() + "anima-models-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let loads = Mutex<[String]>([])
        let pool = try ResidentModels(
            models: ["smol", "qwen"].map { .init(name: $0, bytes: 1, contextLength: 4096) }, maxModels: 1,
            load: { model in
                loads.withLock { $0.append(model.name) }
                return ScriptedModel(name: model.name) { _ in .text("I am \(model.name).") }
            })
        let daemon = try Daemon(configuration: ServerConfiguration(dataDirectory: directory), processor: pool, engine: nil, embedder: nil)
        let token = try await daemon.tokens.create(name: "t", user: "alice", groups: ["users"], scopes: Scope.allCases).secret
        @Sendable func body(_ model: String) -> ByteBuffer {
            ByteBuffer(string: #"{"model":"\#(model)","messages":[{"role":"user","content":"who are you?"}]}"#)
        }
        try await Application(router: daemon.router()).test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get, headers: headers(token)) { response in
                let ids = try JSONValue(parsing: String(buffer: response.body))["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue }
                #expect(ids == ["smol", "qwen"])
            }
            for (model, answer) in [("qwen", "I am qwen."), ("smol", "I am smol."), ("anima", "I am smol."), ("qwen", "I am qwen.")] {
                try await client.execute(uri: "/v1/chat/completions", method: .post, headers: headers(token), body: body(model)) {
                    response in
                    #expect(response.status == .ok)
                    let json = try JSONValue(parsing: String(buffer: response.body))
                    #expect(json["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue == answer, "\(model)")
                }
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: headers(token), body: body("gpt-9")) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("qwen"))
            }
        }
        // One resident at a time: each switch loaded the other again.
        #expect(loads.withLock { $0 } == ["qwen", "smol", "qwen"])
    }
}
