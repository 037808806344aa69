import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `anima chat --tools` as a user meets it (through `anima-bench chat --scripted`, the same
/// `ToolChat` with a scripted model), and approvals of `anima run` through the daemon.
@Suite("Chat with tools", .serialized)
struct ChatToolsCLITests {
    /// Turn 1 lists the inbox and answers; turn 2 mails bob@example.com (a recipient the
    /// inbox gave, unless the user's words give it too) and answers with what came back.
    static let script = #"""
        [{"call": "mail__list_emails", "arguments": {}},
         {"answer": "Your inbox: {last}"},
         {"call": "mail__send_email", "arguments": {"to": "bob@example.com", "subject": "Re: Invoice", "body": "Paid."}},
         {"answer": "turn two: {last}"}]
        """#

    static func chat(_ setup: (folder: String, mcp: String, data: String, script: String), _ extra: [String] = []) -> [String] {
        [
            "-w", CLI.bench.path, "chat", "--scripted", "--script", setup.script, "--tools", "mail", "--mcp-config", setup.mcp,
            "--data-dir", setup.data,
        ] + extra
    }

    @Test func aConversationIsOneAgentWhoseCallsShowThePolicysDecision() throws {
        try ConfirmationCLITests.requireTools()
        let setup = try ConfirmationCLITests.setUp()
        defer { try? FileManager.default.removeItem(atPath: setup.folder) }
        try Self.script.write(toFile: setup.script, atomically: true, encoding: .utf8)
        // setsid: no terminal, so the policy's "ask" is a denial with the reason.
        let result = try CLI.run(
            Self.chat(setup), stdin: "What is in my inbox?\nReply to the invoice email\n",
            executable: URL(fileURLWithPath: "/usr/bin/setsid"))
        let all = result.stdout + result.stderr
        #expect(result.status == 0, "\(all)")
        #expect(result.stdout.contains("→ mail__list_emails {}   (allowed)"), "\(all)")
        #expect(result.stdout.contains("Your inbox:"), "\(all)")
        #expect(result.stdout.contains("✗ mail__send_email"), "\(all)")
        #expect(result.stdout.contains("no one is there to ask"), "\(all)")
        #expect(result.stdout.contains("turn two: error: permission denied"), "\(all)")
        #expect(!result.stdout.contains("sent to"), "\(all)")
        // One agent process held both turns.
        #expect(result.stderr.components(separatedBy: "holds this conversation").count == 2, "\(result.stderr)")
        // Both turns and the denial are in the audit log, the recipient sealed.
        let audit = try CLI.run(["audit", "show", "--data-dir", setup.data])
        #expect(audit.stdout.contains("call_tool") && !audit.stdout.contains("bob@example.com"), "\(audit.stdout)")
    }

    @Test func allowWithValuesStopsACallToAnotherRecipientEvenOneTheUserNamed() throws {
        try ConfirmationCLITests.requireTools()
        let setup = try ConfirmationCLITests.setUp()
        defer { try? FileManager.default.removeItem(atPath: setup.folder) }
        try Self.script.write(toFile: setup.script, atomically: true, encoding: .utf8)
        let result = try CLI.run(
            Self.chat(setup, ["--allow", "mail__send_email(to=carol@example.com)"]),
            stdin: "What is in my inbox?\nReply to bob@example.com about the invoice\n",
            executable: URL(fileURLWithPath: "/usr/bin/setsid"))
        let all = result.stdout + result.stderr
        #expect(result.status == 0, "\(all)")
        #expect(result.stdout.contains("✗ mail__send_email"), "\(all)")
        #expect(result.stdout.contains("the task fixed argument to of mail__send_email"), "\(all)")
        #expect(!result.stdout.contains("sent to"), "\(all)")
        // A malformed --allow is refused before anything starts.
        let bad = try CLI.run(Self.chat(setup, ["--allow", "mail__send_email(to=)"]).dropFirst(2).map { $0 }, executable: CLI.bench)
        #expect(bad.status != 0 && bad.stderr.contains("--allow"), "\(bad.stderr)")
        let chat = try CLI.run(["chat", "--allow", "mail__send_email(to=)", "--tools", "mail"])
        #expect(chat.status != 0 && chat.stderr.contains("has an empty value"), "\(chat.stderr)")
    }

    /// `anima run` against the daemon: the approval arrives on the agent's stream, the
    /// person answers at the terminal (tmux), the CLI posts the answer, the call proceeds
    /// or is denied.
    @Test(arguments: [true, false])
    func runThroughTheDaemonIsAskedAtTheTerminal(yes: Bool) async throws {
        try ConfirmationCLITests.requireTools()
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux"), "install tmux")
        let setup = try ConfirmationCLITests.setUp()
        defer { try? FileManager.default.removeItem(atPath: setup.folder) }
        let runtime = setup.folder + "/runtime"
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true)
        let daemon = try BackgroundCommand(
            [
                "serve", "--scripted", "--port", "0", "--data-dir", setup.data, "--script", setup.script, "--mcp-config", setup.mcp,
                "--approval-timeout", "120",
            ], environment: ["XDG_RUNTIME_DIR": runtime], executable: CLI.bench)
        defer { daemon.process.terminate() }
        var up = false
        for _ in 0..<600 where !up {
            let log = String(decoding: (try? Data(contentsOf: daemon.output)) ?? Data(), as: UTF8.self)
            up = log.contains("anima serving")
            if !daemon.process.isRunning { break }
            if !up { try await Task.sleep(for: .milliseconds(100)) }
        }
        try #require(up, "the daemon did not start: \(String(decoding: (try? Data(contentsOf: daemon.output)) ?? Data(), as: UTF8.self))")

        let socket = "anima-test-\(getpid())-\(UUID().uuidString.prefix(6))"
        let out = setup.folder + "/out.txt"
        let command =
            "XDG_RUNTIME_DIR='\(runtime)' "
            + ([CLI.binary.path, "run", "--tools", "mail", ConfirmationCLITests.task]).map { "'\($0)'" }.joined(separator: " ")
            + " > \(out) 2>&1; echo EXIT:$? >> \(out)"
        let server = try await ConfirmationCLITests.tmuxSession(socket, name: "ask", size: (220, 60), command: command)
        defer { kill(server.process.processIdentifier, SIGKILL) }
        var pane = ""
        for _ in 0..<300 where !pane.contains("Allow this call?") {
            try await Task.sleep(for: .milliseconds(100))
            pane = try ConfirmationCLITests.tmux(socket, ["capture-pane", "-p", "-t", "ask", "-S", "-200"]).stdout
        }
        let log = { String(decoding: (try? Data(contentsOf: daemon.output)) ?? Data(), as: UTF8.self) }
        #expect(pane.contains("Allow this call?"), "\(pane)\n\((try? String(contentsOfFile: out, encoding: .utf8)) ?? "")\n\(log())")
        #expect(pane.contains("wants to call mail__send_email"), "\(pane)")
        #expect(pane.contains(#""to" = "bob@example.com"   from tool:mail__list_emails (untrusted)"#), "\(pane)")
        _ = try ConfirmationCLITests.tmux(socket, ["send-keys", "-t", "ask", yes ? "y" : "n", "Enter"])
        var output = ""
        for _ in 0..<300 where !output.contains("EXIT:") {
            try await Task.sleep(for: .milliseconds(100))
            output = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        }
        #expect(output.contains("EXIT:0"), "\(output)\n\(log())")
        if yes {
            #expect(output.contains("sent to bob@example.com"), "\(output)")
        } else {
            #expect(output.contains("over the API declined") && !output.contains("sent to"), "\(output)")
        }
    }

    /// The person at the terminal types the turns and answers the question in between.
    @Test func aCallThatNeedsAYesIsAskedAtTheTerminalMidConversation() async throws {
        try ConfirmationCLITests.requireTools()
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux"), "install tmux")
        let setup = try ConfirmationCLITests.setUp()
        defer { try? FileManager.default.removeItem(atPath: setup.folder) }
        let socket = "anima-test-\(getpid())-\(UUID().uuidString.prefix(6))"
        let out = setup.folder + "/out.txt"
        let command =
            Self.chat(setup).dropFirst().map { "'\($0)'" }.joined(separator: " ")
            + " 2>&1 | tee \(out); echo EXIT:${PIPESTATUS[0]} >> \(out)"
        let server = try await ConfirmationCLITests.tmuxSession(
            socket, name: "chat", size: (220, 60), command: "bash -c " + "'\(command.replacingOccurrences(of: "'", with: "'\\''"))'")
        defer { kill(server.process.processIdentifier, SIGKILL) }
        func pane() throws -> String { try ConfirmationCLITests.tmux(socket, ["capture-pane", "-p", "-t", "chat", "-S", "-200"]).stdout }
        func waitFor(_ text: String) async throws -> String {
            var seen = ""
            for _ in 0..<300 where !seen.contains(text) {
                try await Task.sleep(for: .milliseconds(100))
                seen = try pane()
            }
            return seen
        }
        _ = try ConfirmationCLITests.tmux(socket, ["send-keys", "-t", "chat", "Reply to the invoice email", "Enter"])
        let asked = try await waitFor("Allow this call?")
        #expect(asked.contains("wants to call mail__send_email"), "\(asked)\n\((try? String(contentsOfFile: out, encoding: .utf8)) ?? "")")
        _ = try ConfirmationCLITests.tmux(socket, ["send-keys", "-t", "chat", "y", "Enter"])
        let answered = try await waitFor("(you allowed the call)")
        #expect(answered.contains("→ mail__send_email"), "\(answered)")
        _ = try ConfirmationCLITests.tmux(socket, ["send-keys", "-t", "chat", "/exit", "Enter"])
        var output = ""
        for _ in 0..<300 where !output.contains("EXIT:") {
            try await Task.sleep(for: .milliseconds(100))
            output = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        }
        #expect(output.contains("EXIT:0"), "\(output)")
        #expect(output.contains("sent to bob@example.com"), "\(output)")
    }
}
