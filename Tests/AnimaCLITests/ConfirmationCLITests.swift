import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A policy's "ask" answered by a person: at the terminal (tmux), over the native API and
/// by MCP elicitation; with no one to ask it is a denial. The agent is scripted: it reads
/// the mail server's inbox, then mails bob@example.com, a recipient that came from it.
@Suite("Confirmation", .serialized)
struct ConfirmationCLITests {
    static let policy = #"{"default": {"allow": ["user", "system"], "onViolation": "ask"}}"#
    static let script = #"""
        [{"call": "mail__list_emails", "arguments": {}},
         {"call": "mail__send_email", "arguments": {"to": "bob@example.com", "subject": "Re: Invoice", "body": "Paid."}},
         {"answer": "{last}"}]
        """#
    static let task = "Reply to the invoice email"

    /// The mail server's mcp.json, a data directory with the asking policy, and the script.
    static func setUp() throws -> (folder: String, mcp: String, data: String, script: String) {
        let (folder, mcp) = try MCPToolsCLITests.configuration()
        let data = folder + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try policy.write(toFile: data + "/policy.json", atomically: true, encoding: .utf8)
        try script.write(toFile: folder + "/script.json", atomically: true, encoding: .utf8)
        return (folder, mcp, data, folder + "/script.json")
    }

    static func requireTools() throws {
        try #require(FileManager.default.isExecutableFile(atPath: MCPToolsCLITests.toolsPython), "run scripts/setup.sh (tools venv)")
    }

    static func run(_ setup: (folder: String, mcp: String, data: String, script: String)) -> [String] {
        [
            "run", "--scripted", "--script", setup.script, "--tools", "mail", "--mcp-config", setup.mcp, "--data-dir", setup.data,
            task,
        ]
    }

    static func tmux(_ socket: String, _ arguments: [String]) throws -> CLI.Result {
        try CLI.run(["-L", socket] + arguments, executable: URL(fileURLWithPath: "/usr/bin/tmux"))
    }

    /// A tmux server on `socket` in the foreground, as this test's child (a daemonised one
    /// started from the test runner does not outlive the client that started it), with a
    /// session `name` running `command`. The caller kills the server with SIGKILL: it
    /// inherits the test thread's blocked signals, so SIGTERM and kill-server leave it running.
    static func tmuxSession(_ socket: String, name: String, size: (Int, Int), command: String) async throws -> BackgroundCommand {
        let server = try BackgroundCommand(["-L", socket, "-D"], environment: [:], executable: URL(fileURLWithPath: "/usr/bin/tmux"))
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: "/tmp/tmux-\(getuid())/\(socket)") {
            try await Task.sleep(for: .milliseconds(50))
        }
        let started = try tmux(socket, ["new-session", "-d", "-s", name, "-x", "\(size.0)", "-y", "\(size.1)", command])
        if started.status != 0 { kill(server.process.processIdentifier, SIGKILL) }
        try #require(started.status == 0, "\(started.stderr)")
        return server
    }

    @Test(arguments: [true, false])
    func thePersonAtTheTerminalIsAskedAndDecides(yes: Bool) async throws {
        try Self.requireTools()
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux"), "install tmux")
        let setup = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: setup.folder) }
        let socket = "anima-test-\(getpid())-\(UUID().uuidString.prefix(6))"
        let out = setup.folder + "/out.txt"
        let command =
            ([CLI.bench.path] + Self.run(setup)).map { "'\($0)'" }.joined(separator: " ") + " > \(out) 2>&1; echo EXIT:$? >> \(out)"
        let server = try await Self.tmuxSession(socket, name: "ask", size: (220, 60), command: command)
        defer { kill(server.process.processIdentifier, SIGKILL) }
        var pane = ""
        var problem = ""
        for _ in 0..<300 where !pane.contains("Allow this call?") {
            try await Task.sleep(for: .milliseconds(100))
            let capture = try Self.tmux(socket, ["capture-pane", "-p", "-t", "ask", "-S", "-200"])
            pane = capture.stdout
            problem = capture.stderr + ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
        }
        #expect(pane.contains("Allow this call?"), "\(problem)")
        #expect(pane.contains("wants to call mail__send_email"), "\(pane)")
        #expect(pane.contains(#""to" = "bob@example.com"   from tool:mail__list_emails (untrusted)"#), "\(pane)")
        #expect(pane.contains(#""body" = "Paid.""#), "\(pane)")
        _ = try Self.tmux(socket, ["send-keys", "-t", "ask", yes ? "y" : "n", "Enter"])
        var output = ""
        for _ in 0..<300 where !output.contains("EXIT:") {
            try await Task.sleep(for: .milliseconds(100))
            output = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        }
        #expect(output.contains("EXIT:0"), "\(output)")
        if yes {
            #expect(output.contains("sent to bob@example.com"), "\(output)")
        } else {
            #expect(output.contains("at the terminal declined") && !output.contains("sent to"), "\(output)")
        }
        // The audit log holds the answer, not the recipient.
        let audit = try CLI.run(["audit", "show", "--data-dir", setup.data])
        #expect(audit.stdout.contains(yes ? "approved by" : "declined by"), "\(audit.stdout)\(audit.stderr)")
        #expect(audit.stdout.contains("to from tool:mail__list_emails hmac:"), "\(audit.stdout)")
        #expect(!audit.stdout.contains("bob@example.com"), "\(audit.stdout)")
        let raw = String(decoding: FileManager.default.contents(atPath: setup.data + "/audit.log") ?? Data(), as: UTF8.self)
        #expect(!raw.isEmpty && !raw.contains("bob@example.com"))
    }

    @Test func withNoTerminalTheCallIsDeniedWithTheReason() throws {
        try Self.requireTools()
        let setup = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: setup.folder) }
        // setsid: a new session without a controlling terminal, as under a service manager.
        let result = try CLI.run(["-w", CLI.bench.path] + Self.run(setup), executable: URL(fileURLWithPath: "/usr/bin/setsid"))
        #expect(result.stdout.contains("no one is there to ask"), "\(result.stdout)\(result.stderr)")
        #expect(!result.stdout.contains("sent to"), "\(result.stdout)")
    }

    @Test func anAPIClientAnswersForItsOwnAgentOnly() async throws {
        try Self.requireTools()
        try #require(FileManager.default.isExecutableFile(atPath: ServeTests.python), "run `make setup` to install the client environment")
        let setup = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: setup.folder) }
        let owner = try CLI.run(["token", "create", "--data-dir", setup.data, "--name", "owner"])
        let other = try CLI.run(["token", "create", "--data-dir", setup.data, "--name", "other", "--user", "mallory"])
        #expect(owner.status == 0 && other.status == 0, "\(owner.stderr)\(other.stderr)")
        let runtime = ["XDG_RUNTIME_DIR": setup.folder + "/runtime"]
        let daemon = try BackgroundCommand(
            [
                "serve", "--scripted", "--port", "0", "--data-dir", setup.data, "--script", setup.script, "--mcp-config", setup.mcp,
            ], environment: runtime, executable: CLI.bench)
        var url: String?
        for _ in 0..<600 where url == nil {
            let log = String(decoding: (try? Data(contentsOf: daemon.output)) ?? Data(), as: UTF8.self)
            if let range = log.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) { url = String(log[range]) }
            if !daemon.process.isRunning { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let base = try #require(url, "the daemon did not start")
        let result = try ServeTests().python([
            ServeTests.client("approval_client.py"), "api", base, owner.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
            other.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
        ])
        daemon.process.terminate()
        let log = try await daemon.finish(within: 30)
        #expect(result.status == 0, "\(result.output)\n--- daemon log ---\n\(log.output)")
        #expect(result.output.contains("all ok"))
    }

    @Test func anMCPClientIsAskedByElicitation() throws {
        try Self.requireTools()
        try #require(FileManager.default.isExecutableFile(atPath: ServeTests.python), "run `make setup` to install the client environment")
        let setup = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: setup.folder) }
        let result = try ServeTests().python([
            ServeTests.client("approval_client.py"), "mcp", CLI.bench.path, "mcp", "--scripted", "--script", setup.script, "--tools",
            "mail",
            "--mcp-config", setup.mcp, "--data-dir", setup.data,
        ])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("all ok"))
    }
}
