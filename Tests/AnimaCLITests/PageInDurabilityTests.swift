import AnimaCore
import Foundation
import Testing

/// Page-in events outlive the daemon (issue 18): an agent run through a daemon pages a
/// passage in; the event is visible while the answer is still being generated, and after
/// the daemon is killed with SIGKILL mid-answer, `anima memory show` reads it back from
/// the store alone. Nothing of the passage or the task is left in the clear.
@Suite("Page-in events across a daemon kill", .serialized)
struct PageInDurabilityTests {
    @Test func pageInEventsSurviveKillNineOfTheDaemon() async throws {
        // One word per minute: the answer never finishes, so no later message is saved.
        let daemon = try await ServeTests.Daemon(["--scripted", "--scripted-delay-ms", "60000"])
        let data = daemon.dataDirectory
        let env = daemon.runtime
        defer { try? FileManager.default.removeItem(atPath: data) }
        let passage = "the spare key is under the blue flowerpot"
        let task = "where did I hide the spare key, near a flowerpot?"
        let file = NSTemporaryDirectory() + "anima-pagein-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try #"{"text": "\#(passage)"}"#.write(toFile: file, atomically: true, encoding: .utf8)
        let imported = try CLI.run(["memory", "import", file, "--agent", "notes", "--data-dir", data], environment: env)
        #expect(imported.status == 0, "\(imported.stderr)")

        let run = try BackgroundCommand(["run", "--memory", "notes", "--data-dir", data, "--max-steps", "1", task], environment: env)
        var during = ""
        for _ in 0..<300 where !during.contains("paged\tarchival #1") {
            try await Task.sleep(for: .milliseconds(100))
            during = try CLI.run(["memory", "show", "--data-dir", data, "notes"], environment: env).stdout
        }
        #expect(during.contains("[page-ins: the newest 1]") && during.contains("paged\tarchival #1"), "\(during)")
        #expect(run.process.isRunning, "the answer was meant to be still under way")

        kill(daemon.process.process.processIdentifier, SIGKILL)
        _ = try await daemon.process.finish(within: 30)
        #expect(daemon.process.process.terminationReason == .uncaughtSignal)
        kill(run.process.processIdentifier, SIGTERM)
        _ = try await run.finish(within: 30)

        // No daemon now (and none to discover): the CLI opens the store itself.
        let after = try CLI.run(["memory", "show", "--data-dir", data, "notes"])
        #expect(after.status == 0, "\(after.stderr)")
        #expect(after.stdout.contains("[page-ins: the newest 1]") && after.stdout.contains("paged\tarchival #1"), "\(after.stdout)")
        #expect(after.stdout.contains("words"), "the reason was lost: \(after.stdout)")

        var clear: [String] = []
        let walker = FileManager.default.enumerator(atPath: data)
        while let path = walker?.nextObject() as? String {
            guard let bytes = FileManager.default.contents(atPath: data + "/" + path) else { continue }
            for text in [passage, task, "flowerpot", "spare key"] where bytes.range(of: Data(text.utf8)) != nil {
                clear.append("\(path): \(text)")
            }
        }
        #expect(clear.isEmpty, "plaintext under the data directory: \(clear)")
    }
}
