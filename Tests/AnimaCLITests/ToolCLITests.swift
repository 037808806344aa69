import Foundation
import Testing

/// `anima tool run`: one tool call by hand, through the real binary.
@Suite("anima tool run")
struct ToolCLITests {
    let workspaces = NSTemporaryDirectory() + "anima-tool-cli-\(UUID().uuidString)"

    /// A sandbox used to die about five seconds after it started, when the pool thread
    /// that forked it retired (bubblewrap's --die-with-parent).
    @Test func aShellCommandRunsPastFiveSeconds() throws {
        defer { try? FileManager.default.removeItem(atPath: workspaces) }
        let result = try CLI.run(
            ["tool", "run", "shell", "--args", #"{"command": "sleep 6; echo alive", "timeout_seconds": 20}"#],
            environment: ["ANIMA_WORKSPACES": workspaces])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("alive"), "\(result.stdout)")
    }
}
