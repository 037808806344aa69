import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `anima store install` at a terminal (tmux) without --grant: each permission the package
/// asks for is shown, like a phone does, and only those answered y are granted.
@Suite("anima store install: the grant prompt", .serialized)
struct StoreGrantPromptTests {
    @Test(arguments: [true, false])
    func eachPermissionIsAskedAndOnlyTheAcceptedAreGranted(acceptNetwork: Bool) async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux"), "install tmux")
        let f = try StoreCLIFixture("store-prompt")
        defer { try? FileManager.default.removeItem(at: f.dir) }
        let data = f.dir.path + "/data"
        try f.trust(data)
        try f.publish(
            "asker", kind: "skill", files: [("SKILL.md", Data("a skill".utf8), "skill")],
            extra: #""requests": {"effects": ["network", "files"]}"#)
        let socket = "anima-store-\(getpid())-\(UUID().uuidString.prefix(6))"
        let command =
            ([CLI.binary.path, "store", "install", "asker", "--registry", f.registry, "--store-dir", data + "/store"]).map { "'\($0)'" }
            .joined(separator: " ") + "; echo EXIT:$?; sleep 600"
        let server = try await ConfirmationCLITests.tmuxSession(socket, name: "grant", size: (200, 50), command: command)
        defer { kill(server.process.processIdentifier, SIGKILL) }

        /// The pane once it shows `text` (or after 30 s).
        func pane(showing text: String) async throws -> String {
            var shown = ""
            for _ in 0..<300 where !shown.contains(text) {
                try await Task.sleep(for: .milliseconds(100))
                shown = try ConfirmationCLITests.tmux(socket, ["capture-pane", "-p", "-t", "grant", "-S", "-100"]).stdout
            }
            return shown
        }
        let first = try await pane(showing: "allow? [y/N]")
        #expect(first.contains("asker 1.0.0 by acme asks for:"), "\(first)")
        #expect(first.contains("network: reach the internet"), "\(first)")
        #expect(!first.contains("files: read and write"), "one question at a time: \(first)")
        _ = try ConfirmationCLITests.tmux(socket, ["send-keys", "-t", "grant", acceptNetwork ? "y" : "n", "Enter"])
        let second = try await pane(showing: "files: read and write files in its workspace")
        #expect(second.contains("files: read and write files in its workspace"), "\(second)")
        _ = try ConfirmationCLITests.tmux(socket, ["send-keys", "-t", "grant", "n", "Enter"])
        let done = try await pane(showing: "EXIT:")
        #expect(done.contains("EXIT:0"), "\(done)")
        #expect(done.contains("installed asker 1.0.0 from acme, verified"), "\(done)")
        if acceptNetwork {
            #expect(done.contains("granted: network") && done.contains("not granted: files"), "\(done)")
        } else {
            #expect(done.contains("granted: nothing") && done.contains("not granted: network, files"), "\(done)")
        }
        let list = try f.store(["list"], data: data).stdout
        #expect(list.contains("granted: \(acceptNetwork ? "network" : "nothing")"), "\(list)")
        let audit = try String(contentsOfFile: data + "/audit.log", encoding: .utf8)
        let recorded = acceptNetwork ? "asker 1.0.0: granted network; refused files" : "asker 1.0.0: granted nothing; refused network,files"
        #expect(audit.contains(recorded), "\(audit)")
    }
}
