import AnimaCore
import Foundation
import Testing

/// The web console in Debian's headless Chromium, driven by Playwright with a virtual
/// passkey authenticator: register, kill a process, forget a memory, chat, change the
/// policy by hand and approve the call it makes wait, chart the metrics, sign out and in.
/// Screenshots of each view are kept in $TMPDIR/anima-console-e2e.
@Suite struct ConsoleE2ETests {
    static let python = AnimaDirectories.cache() + "/web-venv/bin/python"
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("AnimaWebTests/Interop/console_e2e.py").path

    @Test(
        .enabled(
            if: FileManager.default.fileExists(atPath: "/usr/bin/chromium"), "Debian's chromium is absent: scripts/setup.sh installs it"))
    func aPersonSignsInWithAPasskeyAndSteersTheOS() throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.python),
            "Playwright is missing: run scripts/setup.sh (it makes \(Self.python))")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("anima-console-e2e").path
        let result = try CLI.run([Self.script, CLI.binary.path, CLI.bench.path, out], executable: URL(fileURLWithPath: Self.python))
        #expect(result.status == 0, "the browser test failed:\n\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("E2E: all steps passed"))
        print("console screenshots: \(out)")
        for view in [
            "signin", "enroll", "processes", "memory", "approvals", "audit", "chat", "conversation", "policies", "token-created", "tokens",
            "context", "processors", "metrics", "metrics-live", "approval", "signed-in-again",
        ] {
            #expect(FileManager.default.fileExists(atPath: out + "/\(view).png"), "no screenshot of \(view)")
        }
    }
}
