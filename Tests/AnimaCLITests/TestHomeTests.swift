import AnimaCore
import Foundation
import Testing

/// The CLI tests leave the user's own Anima folders alone: every `anima` they start runs in
/// `TestHome`, never in the real HOME.
@Suite("CLI tests are hermetic")
struct TestHomeTests {
    /// `anima setup` writes the credentials key into the data directory: the test home's,
    /// not the real ~/.local/share/anima.
    @Test func setupWritesItsKeyIntoTheTestHome() throws {
        let real = AnimaDirectories.data(ProcessInfo.processInfo.environment) + "/credentials.key"
        func state() -> String? {
            (try? FileManager.default.attributesOfItem(atPath: real)).map { "\($0[.modificationDate] ?? "") \($0[.size] ?? "")" }
        }
        let before = state()
        let config = NSTemporaryDirectory() + "anima-hermetic-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: config) }
        let setup = try CLI.run(
            ["setup", "--provider", "openai", "--model", "gpt-4o-mini", "--key-stdin"],
            stdin: "sk-test-" + String(repeating: "k", count: 40) + "\n",
            environment: ["ANIMA_CONFIG": config, "OPENAI_API_KEY": ""])
        #expect(setup.status == 0, "\(setup.stderr)")
        #expect(FileManager.default.fileExists(atPath: TestHome.path + "/.local/share/anima/credentials.key"))
        #expect(state() == before, "the suite changed \(real)")
    }

    /// Every test that starts a process gives it the test home: a new helper that builds its
    /// own environment from this process's would reach the real folders again.
    @Test func everyCommandATestStartsGetsTheTestHome() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        var checked = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path)
        where name.hasSuffix(".swift") && name != "TestHomeTests.swift" {
            let source = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            for (number, line) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where line.contains(".environment = ") {
                checked += 1
                #expect(line.contains("= TestHome.environment("), "\(name):\(number + 1) starts a process outside the test home: \(line)")
            }
        }
        #expect(checked >= 4)
    }
}
