import AnimaCore
import AnimaMemory
import AnimaProcessor
import AnimaProviders
import AnimaSecurity
import AnimaStorage
import AnimaTesting
import Foundation
import Synchronization
import Testing

@testable import AnimaKernel

/// The kernel labels every generation from what the process's context holds, and a
/// router behind the kernel keeps private work on this machine, with every routing step
/// in the hash-chained audit log.
@Suite struct PrivacyRoutingTests {
    /// A scripted model that remembers the privacy label of every request it serves.
    final class Recorder: Sendable {
        let labels = Mutex<[PrivacyLabel]>([])
        let answer: String

        init(answer: String = "Noted.") { self.answer = answer }

        var model: ScriptedModel {
            ScriptedModel(name: "local", contextLength: 4096) { [self] request in
                labels.withLock { $0.append(request.privacy) }
                return .text(answer)
            }
        }

        func take() -> [PrivacyLabel] {
            labels.withLock { l in
                defer { l = [] }; return l
            }
        }
    }

    @Test func memoryAndTheSpecLabelEveryGenerationWhileAPlainAgentStaysPublic() async throws {
        let fixture = try await AgentMemoryTests.Fixture.make()
        defer { fixture.discard() }
        let recorder = Recorder()
        let kernel = fixture.kernel(recorder.model)

        func run(_ spec: AgentSpec) async throws -> [PrivacyLabel] {
            let pid = try await kernel.spawn(spec, owner: alice)
            #expect(try await kernel.wait(pid) == .completed("Noted."))
            return recorder.take()
        }
        #expect(try await run(AgentSpec(task: "What is 2+2?")) == [.public])
        // The context holds the agent's core memory and what is paged in: the user's data.
        #expect(try await run(AgentSpec(task: "My sister's name is Ada.", memory: "assistant")) == [.private])
        #expect(try await run(AgentSpec(task: "Summarise my notes", privacy: .private)) == [.private])
        #expect(try await run(AgentSpec(task: "Check my results", privacy: .groups("medical"))) == [.groups("medical")])
        // What the audit log says about each generation names its label, never its text.
        let generations = fixture.audit.records.filter { $0.syscall == "generate" }.map(\.summary)
        #expect(generations.filter { $0.hasSuffix("private") }.count == 2)
        #expect(!generations.contains { $0.contains("sister") })
    }

    @Test func readingMemoryOrAPrivateSendersMessageMakesTheProcessPrivateFromThenOn() async throws {
        let recorder = Recorder()
        let kernel = Kernel(.init(processor: recorder.model))
        let request = GenerationRequest(messages: [.user("go")])

        let reader = try await kernel.spawn(name: "reader", owner: alice) { context in
            _ = try await context.syscall(.memory(.write(key: "diary", value: "Dear diary")))
            _ = try await context.generate(request)  // writing takes nothing in
            _ = try await context.syscall(.memory(.read(key: "diary")))
            _ = try await context.generate(request)
            return ""
        }
        _ = try await kernel.wait(reader)
        #expect(recorder.take() == [.public, .private])

        let receiver = try await kernel.spawn(name: "receiver", owner: alice) { context in
            _ = try await context.receive()
            _ = try await context.generate(request)
            return ""
        }
        let sender = try await kernel.spawn(name: "sender", owner: alice, privacy: .private) { context in
            try await context.send("my diagnosis", to: receiver)
            return ""
        }
        _ = try await kernel.wait(sender)
        _ = try await kernel.wait(receiver)
        #expect(recorder.take() == [.private])
    }

    /// Cloud mode: a public agent's generation goes to the (replayed) remote provider; an
    /// agent with memory is served by the local model and the provider receives nothing.
    /// Each decision and its outcome is in the audit log, which still verifies.
    @Test func aRouterBehindTheKernelKeepsMemoryAgentsLocalAndAuditsEveryDecision() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("anima-kernel-route-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await ReplayServer.start([Self.cloudAnswer])
        let local = Recorder(answer: "Answered here.")
        let remote = ProviderEndpoint(
            id: "replay", kind: .openAICompatible, baseURL: server.baseURL + "/v1", location: .remote,
            limits: ProviderLimits(connectTimeout: 10, responseTimeout: 60, idleTimeout: 30))
        let router = try ProcessorRouter(
            candidates: [
                RouteCandidate(
                    id: "local/scripted", processor: local.model, location: .local, capabilities: .init(contextLength: 4096), price: .free),
                RouteCandidate(
                    id: "replay/m", processor: try remote.makeProcessor(model: "m", credential: nil), location: .remote,
                    capabilities: .init(contextLength: 8192), price: .free),
            ],
            policy: RouterPolicy(mode: .cloud, seed: 7))
        let store = try await MemoryStore.open(.directory(directory.appendingPathComponent("memory")), key: .generate())
        let ring = MemoryAuditTrail()
        let kernel = Kernel(
            try .standard(
                processor: router, memory: MemorySystem(store: store, embedder: nil), dataDirectory: directory.path, alsoAuditTo: [ring]))

        let asked = "What is the capital of France?"
        let cloud = try await kernel.spawn(AgentSpec(task: asked), owner: alice)
        #expect(try await kernel.wait(cloud) == .completed("Paris, from the cloud."))
        #expect(server.received.count == 1)

        let secret = "My diagnosis is sensitive."
        let personal = try await kernel.spawn(AgentSpec(task: secret, memory: "assistant"), owner: alice)
        #expect(try await kernel.wait(personal) == .completed("Answered here."))
        #expect(local.take() == [.private])
        #expect(server.received.count == 1, "a request from an agent with memory reached the remote provider")
        await server.stop()

        let routes = ring.records.filter { $0.syscall.hasPrefix("route") }
        #expect(routes.map(\.syscall) == ["route", "route.served", "route", "route.served"])
        #expect(routes[0].pid == cloud && routes[0].summary.contains("→ replay/m"))
        #expect(routes[1].summary.contains("served by replay/m"))
        #expect(routes[2].pid == personal && routes[2].summary.contains("→ local/scripted") && routes[2].summary.contains("private"))
        #expect(routes[3].summary.contains("served by local/scripted"))
        #expect(!routes.contains { $0.summary.contains("France") || $0.summary.contains("diagnosis") })

        let path = directory.appendingPathComponent(AuditLog.fileName).path
        let auditor = Principal(name: "ana", groups: ["users", "logs"])
        let entries = try AuditLog.entries(at: path, as: auditor)
        #expect(entries.filter { $0.action.hasPrefix("route") }.count == 4)
        #expect(try AuditLog.verify(at: path, as: auditor).isIntact)
    }

    /// A private agent whose only allowed processor is remote is refused before anything
    /// is sent, and the refusal is audited.
    @Test func aPrivateAgentWithNoLocalProcessorIsRefusedAndAudited() async throws {
        let server = try await ReplayServer.start([Self.cloudAnswer])
        let remote = ProviderEndpoint(id: "replay", kind: .openAICompatible, baseURL: server.baseURL + "/v1", location: .remote)
        let router = try ProcessorRouter(
            candidates: [
                RouteCandidate(
                    id: "replay/m", processor: try remote.makeProcessor(model: "m", credential: nil), location: .remote,
                    capabilities: .init(contextLength: 8192), price: .free)
            ],
            policy: RouterPolicy(mode: .cloud))
        let audit = MemoryAuditTrail()
        let kernel = Kernel(.init(processor: router, audit: audit))
        let pid = try await kernel.spawn(AgentSpec(task: "Read my medical file", privacy: .private), owner: alice)
        guard case .failed(let reason) = try await kernel.wait(pid) else {
            Issue.record("the private agent was not refused")
            return
        }
        #expect(reason.contains("stay on this machine"), "\(reason)")
        #expect(server.received.isEmpty)
        await server.stop()
        let route = try #require(audit.records.first { $0.syscall == "route" })
        guard case .denied(let why) = route.outcome else {
            Issue.record("the refusal is not audited as denied: \(route.outcome)")
            return
        }
        #expect(why.contains("stays on this machine"))
    }

    static let cloudAnswer: ReplayExchange = try! .openAIChatStream(["Paris,", " from the cloud."], promptTokens: 12, completionTokens: 5)
}
