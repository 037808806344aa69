import AnimaCore
import AnimaKernel
import AnimaTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AnimaServer

/// The daemon-cost anchor: served only by the scripted daemon, behind the same token check
/// and body parsing as the chat route, and never reaching the kernel.
@Suite struct FixedAnswerRouteTests {
    func daemon(scripted: Bool) async throws -> (Daemon, String) {
        var configuration = ServerConfiguration(dataDirectory: NSTemporaryDirectory() + "anima-fixed-\(UUID().uuidString)")
        configuration.scripted = scripted
        configuration.port = 0
        let processor = ScriptedProcessor(slots: 1, scheduler: Scheduler(), name: "scripted") { _ in .text("from the model") }
        processor.startStepping()
        let daemon = try Daemon(configuration: configuration, processor: processor, engine: nil, embedder: nil, memory: nil)
        let secret = try await daemon.tokens.create(name: "t", user: "alice", groups: ["users"], scopes: [.chat]).secret
        return (daemon, secret)
    }

    @Test func theScriptedDaemonAnswersAFixedCompletionWithoutTheKernel() async throws {
        let (daemon, token) = try await daemon(scripted: true)
        try await Application(router: daemon.router()).test(.router) { client in
            try await client.execute(uri: "/bench/fixed-chat", method: .post, headers: headers(token), body: chatBody) { response in
                #expect(response.status == .ok)
                let message = json(response)["choices"]?.arrayValue?.first?["message"]
                #expect(message?["content"]?.stringValue == "You said: hello")
            }
        }
        #expect(await daemon.kernel.processes().isEmpty)
    }

    @Test func itRefusesWhatTheChatRouteRefuses() async throws {
        let (daemon, token) = try await daemon(scripted: true)
        try await Application(router: daemon.router()).test(.router) { client in
            try await client.execute(uri: "/bench/fixed-chat", method: .post, headers: headers(nil), body: chatBody) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/bench/fixed-chat", method: .post, headers: headers("anima_0000_nope"), body: chatBody) {
                #expect($0.status == .unauthorized)
            }
            for bad in [
                #"{"model":"scripted"}"#, "[1e300]", #"{"model":"scripted","messages":[{"role":"user","content":"x"}],"max_tokens":-1}"#,
            ] {
                try await client.execute(uri: "/bench/fixed-chat", method: .post, headers: headers(token), body: ByteBuffer(string: bad)) {
                    #expect($0.status == .badRequest, "\(bad)")
                }
            }
        }
    }

    @Test func aRealDaemonHasNoSuchRoute() async throws {
        let (daemon, token) = try await daemon(scripted: false)
        try await Application(router: daemon.router()).test(.router) { client in
            try await client.execute(uri: "/bench/fixed-chat", method: .post, headers: headers(token), body: chatBody) {
                #expect($0.status == .notFound)
            }
        }
    }
}
