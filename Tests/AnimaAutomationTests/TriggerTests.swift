import AnimaAutomation
import AnimaCore
import Foundation
import Testing

@Suite("Workflow triggers")
struct TriggerTests {
    func date(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

    /// Virtual dates: two days of a 09:00 Paris schedule fire twice, at 07:00Z in summer; the
    /// same window checked again (a restart, a second daemon) starts nothing more.
    @Test func cronFiresOncePerScheduledTimeInItsZone() async throws {
        let store = try temporaryStore()
        let e = WorkflowEngine(store: store, actions: RecordingActions(), pollInterval: .milliseconds(10))
        _ = try await e.add(
            #"{"name": "morning", "triggers": [{"type": "cron", "schedule": "0 9 * * *", "time_zone": "Europe/Paris"}], "steps": [{"id": "w", "type": "wait", "seconds": 0}]}"#,
            owner: alice)
        let triggers = TriggerService(engine: e, now: date("2026-06-01T00:00:00Z"))
        let fired = await triggers.fireDue(from: date("2026-06-01T00:00:00Z"), to: date("2026-06-03T00:00:00Z"))
        #expect(fired.map { $0.inputs.value["scheduled"] } == ["2026-06-01T07:00:00.000Z", "2026-06-02T07:00:00.000Z"])
        #expect(fired.allSatisfy { $0.trigger == "cron" && $0.owner.name == "alice" })
        let again = await triggers.fireDue(from: date("2026-06-01T00:00:00Z"), to: date("2026-06-03T00:00:00Z"))
        #expect(again.map(\.id) == fired.map(\.id))
        #expect(try await store.runs(workflow: "morning", limit: 10).count == 2)
        #expect(await triggers.fireDue(from: date("2026-06-03T00:00:00Z"), to: date("2026-06-03T06:59:59Z")).isEmpty)
    }

    @Test func aFileWrittenIntoAWatchedDirectoryStartsARunLabelledFile() async throws {
        let store = try temporaryStore()
        let e = WorkflowEngine(store: store, actions: RecordingActions(), pollInterval: .milliseconds(10))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("anima-watch-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try await e.add(
            #"{"name": "inbox", "triggers": [{"type": "files", "directory": "\#(directory)"}], "steps": [{"id": "w", "type": "wait", "seconds": 0}]}"#,
            owner: alice)
        let triggers = TriggerService(engine: e)
        await triggers.refreshWatchers()
        try "hello".write(toFile: directory + "/note.txt", atomically: false, encoding: .utf8)
        var runs: [WorkflowRun] = []
        for _ in 0..<100 where runs.isEmpty {
            try await Task.sleep(for: .milliseconds(50))
            runs = try await store.runs(workflow: "inbox", limit: 10)
        }
        #expect(runs.count == 1)
        #expect(runs.first?.inputs.value["path"] == .string(directory + "/note.txt"))
        #expect(runs.first?.inputs.label == ProvenanceLabel(.file))
        #expect(runs.first?.trigger == "files")
    }
}
