import AnimaAutomation
import AnimaCore
import AnimaKernel
import AnimaTesting
import Foundation
import Testing

@testable import AnimaServer

/// `anima serve --workflow-database postgres://...`: the daemon's engine runs on the shared
/// queue, and a second daemon with the same key sees the same runs.
@Suite("Daemon: workflows on PostgreSQL")
struct WorkflowPostgresDaemonTests {
    func daemon(_ url: String, key: String) throws -> Daemon {
        var configuration = ServerConfiguration(dataDirectory: NSTemporaryDirectory() + "anima-server-pg-\(UUID().uuidString)")
        configuration.workflowDatabase = url
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        if FileManager.default.fileExists(atPath: key) {
            try FileManager.default.copyItem(atPath: key, toPath: configuration.dataDirectory + "/workflows.key")
        }
        let processor = ScriptedProcessor(slots: 1, scheduler: Scheduler(), name: "scripted") { _ in .text("ok") }
        return try Daemon(configuration: configuration, processor: processor, engine: nil, embedder: nil)
    }

    @Test(.timeLimit(.minutes(1))) func twoDaemonsShareTheQueue() async throws {
        let url = try await PostgresTestServer.freshDatabaseURL()
        let first = try daemon(url, key: "")
        #expect(first.automation.store is PostgresWorkflowStore)
        #expect(first.automation.worker.hasPrefix("daemon-"))
        let owner = Principal(name: "alice", groups: ["users"])
        _ = try await first.automation.add(
            #"{"name": "pg", "steps": [{"id": "w", "type": "wait", "seconds": 0}], "output": "${inputs.x}"}"#, owner: owner)
        let run = try await first.automation.wait(try await first.automation.start("pg", inputs: ["x": 5], caller: owner).id)
        #expect(run.status == .completed && run.output?.value == 5)
        let second = try daemon(url, key: first.configuration.dataDirectory + "/workflows.key")
        #expect(try await second.automation.store.run(run.id)?.output?.value == 5)
        // Each daemon has its own lease name, stable across restarts of the same one.
        #expect(second.automation.worker != first.automation.worker)
        #expect(Daemon.workerName(dataDirectory: first.configuration.dataDirectory) == first.automation.worker)
        var bad = ServerConfiguration()
        #expect(throws: ConfigurationError.self) { try bad.set("workflow_database", "mysql://x", source: "test") }
    }
}
