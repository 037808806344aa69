import AnimaCore
import AnimaKernel
import AnimaProcessor
import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import AnimaServer

/// A model that calls a tool and then reports the finish reason a grammar-bound decoder
/// gives when it stops at its limit.
struct ToolCallThenLengthModel: LanguageModel {
    var info: ModelInfo { ModelInfo(name: "scripted", contextLength: 4096) }

    func generate(_ request: GenerationRequest) -> AsyncThrowingStream<GenerationEvent, any Error> {
        AsyncThrowingStream { continuation in
            continuation.yield(.toolCall(ToolCall(id: "call_1", name: "get_weather", arguments: ["city": "Oslo"])))
            continuation.yield(.usage(Usage(promptTokens: 1, completionTokens: 9)))
            continuation.yield(.finished(.length))
            continuation.finish()
        }
    }

    func countTokens(_ request: GenerationRequest) async throws -> Int { 1 }
    func countTokens(text: String) async throws -> Int { 1 }
}

@Suite("An answer that ends in tool calls finishes with tool_calls")
struct FinishReasonTests {
    @Test(arguments: [false, true])
    func toolCallsFinishWithToolCalls(stream: Bool) async throws {
        let directory = NSTemporaryDirectory() + "anima-finish-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try Daemon(
            configuration: ServerConfiguration(dataDirectory: directory), processor: ToolCallThenLengthModel(), engine: nil, embedder: nil)
        let token = try await daemon.tokens.create(name: "t", user: "alice", groups: ["users"], scopes: Scope.allCases).secret
        let body = ByteBuffer(
            string:
                #"{"model":"scripted","stream":\#(stream),"messages":[{"role":"user","content":"weather?"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]}"#
        )
        let reasons = Mutex<[String]>([])
        try await Application(router: daemon.router()).test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: headers(token), body: body) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                let objects =
                    stream
                    ? text.components(separatedBy: "\n\n").compactMap { try? JSONValue(parsing: String($0.dropFirst("data: ".count))) }
                    : [try JSONValue(parsing: text)]
                reasons.withLock { $0 = objects.compactMap { $0["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue } }
            }
        }
        #expect(reasons.withLock { $0 } == ["tool_calls"])
    }
}
