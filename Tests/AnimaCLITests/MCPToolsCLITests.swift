import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// MCP tools for agents, as users reach them: `anima tools`, `anima run --tools`, the
/// daemon's agent API and `anima mcp`, with Tests/Servers/mail_server.py as the server.
@Suite("MCP tools for agents", .serialized)
struct MCPToolsCLITests {
    static var toolsPython: String { ServeTests.cache + "/tools-venv/bin/python" }

    /// A folder with the mail server and an mcp.json naming it "mail" (plus `extra` in its entry).
    static func configuration(extra: String = "") throws -> (folder: String, file: String) {
        let folder = try MCPServerCLITests.folder("mcp-tools")
        let script = folder + "/server/mail_server.py"
        try FileManager.default.createDirectory(atPath: folder + "/server", withIntermediateDirectories: true)
        chmod(folder + "/server", 0o755)
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Servers/mail_server.py").path
        try FileManager.default.copyItem(atPath: source, toPath: script)
        chmod(script, 0o644)
        let file = folder + "/mcp.json"
        try """
        {"servers": [{"name": "mail", "command": "\(toolsPython)", "args": ["\(script)"], "readOnlyPaths": ["\(folder)/server"],
                      "startupTimeout": 30\(extra)}]}
        """.write(toFile: file, atomically: true, encoding: .utf8)
        return (folder, file)
    }

    @Test func animaToolsShowsEachMCPToolsEffectsAndWhereTheyCameFrom() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.toolsPython), "run scripts/setup.sh to install the tools venv")
        let (folder, file) = try Self.configuration(
            extra: #", "tools": {"send_money": {"effects": ["moves-money"], "arguments": {"recipient": "recipient", "amount": "amount"}}}"#)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try CLI.run(["tools", "--json", "--mcp-config", file], environment: ["ANIMA_WORKSPACES": folder + "/workspaces"])
        #expect(result.status == 0, "\(result.stderr)")
        let output = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let tools = (output?["tools"] as? [[String: Any]] ?? []).reduce(into: [String: [String: Any]]()) {
            $0[$1["name"] as? String ?? ""] = $1
        }
        func effects(_ name: String) -> [String: Any] { tools[name]?["effects"] as? [String: Any] ?? [:] }
        #expect(effects("mail__list_emails")["from"] as? String == "annotation")
        #expect(tools["mail__list_emails"]?["effect"] as? String == "read-only")
        #expect(effects("mail__send_money")["from"] as? String == "override")
        #expect(effects("mail__send_money")["consequences"] as? [String] == ["moves-money"])
        #expect((effects("mail__send_money")["arguments"] as? [String: String])?["amount"] == "amount")
        #expect(tools["mail__send_money"]?["effect"] as? String == "network")
        #expect(effects("calculator")["from"] as? String == "built-in")

        let table = try CLI.run(["tools", "--mcp-config", file], environment: ["ANIMA_WORKSPACES": folder + "/workspaces"])
        let line = table.stdout.split(separator: "\n").first { $0.hasPrefix("mail__delete_email") } ?? ""
        #expect(line.contains("deletes, writes (annotation)"), "\(table.stdout)")
    }

    @Test func runRefusesAToolSelectionThatChoosesNothingBeforeLoadingAModel() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.toolsPython), "run scripts/setup.sh to install the tools venv")
        let (folder, file) = try Self.configuration()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try CLI.run(
            ["run", "--local", "--tools", "calculator,mail__send", "--mcp-config", file, "--model", "/nonexistent.gguf", "hello"],
            environment: ["ANIMA_WORKSPACES": folder + "/workspaces"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("no tool or MCP server named \"mail__send\""), "\(result.stderr)")
        #expect(result.stderr.contains("mail__send_email"), "\(result.stderr)")
        #expect(!result.stderr.contains("nonexistent.gguf"), "the model was loaded first: \(result.stderr)")
        // Names alone are checked without starting any server.
        let builtin = try CLI.run(["run", "--local", "--tools", "telepathy", "--mcp-config", "/nonexistent/mcp.json", "hello"])
        #expect(builtin.status != 0 && builtin.stderr.contains("telepathy") && builtin.stderr.contains("calculator"), "\(builtin.stderr)")
    }

    @Test func theDaemonAndAnimaMCPGiveAgentsMCPTools() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.toolsPython), "run scripts/setup.sh to install the tools venv")
        try #require(FileManager.default.isExecutableFile(atPath: ServeTests.python), "run `make setup` to install the client environment")
        let (folder, file) = try Self.configuration()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let workspaces = ["ANIMA_WORKSPACES": folder + "/workspaces"]
        let daemon = try await ServeTests.Daemon(["--scripted", "--mcp-config", file], environment: workspaces)
        let native = try ServeTests().python([ServeTests.client("agent_tools_client.py"), "native", daemon.url, daemon.token])
        daemon.process.process.terminate()
        let log = try await daemon.process.finish(within: 30)
        #expect(native.status == 0, "\(native.output)\n--- daemon log ---\n\(log.output)")

        let data = folder + "/data"
        let stdio = try ServeTests().python([
            ServeTests.client("agent_tools_client.py"), "stdio", CLI.bench.path, "mcp", "--scripted", "--tools", "mail,calculator",
            "--mcp-config", file, "--data-dir", data,
        ])
        #expect(stdio.status == 0, "\(stdio.output)")
        #expect(stdio.output.contains("all ok"))
    }
}
