import AnimaCore
import Foundation
import Testing

/// The daemon's workflow tools over MCP, driven by the official MCP Python client: run,
/// wait, status, approve, cancel; another user's token sees nothing, a token without the
/// workflows scope is refused.
@Suite("MCP workflow tools")
struct MCPWorkflowToolsTests {
    @Test(.timeLimit(.minutes(3))) func theOfficialMCPClientRunsWorkflows() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServeTests.python), "run `make setup` to install the client environment")
        let daemon = try await ServeTests.Daemon(["--scripted"])
        defer { try? FileManager.default.removeItem(atPath: daemon.dataDirectory) }
        let files = [
            "greet":
                #"{"name": "greet", "inputs": {"type": "object", "properties": {"who": {"type": "string"}}, "required": ["who"]}, "steps": [{"id": "w", "type": "wait", "seconds": 0}], "output": "hello ${inputs.who}"}"#,
            "gated":
                #"{"name": "gated", "steps": [{"id": "ok", "type": "approval", "prompt": "go?"}, {"id": "w", "type": "wait", "seconds": 0}]}"#,
        ]
        for (name, text) in files {
            let path = daemon.dataDirectory + "/\(name).json"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let added = try CLI.run(["workflow", "add", path, "--data-dir", daemon.dataDirectory], environment: daemon.runtime)
            try #require(added.status == 0, "\(added.stderr)")
        }
        func token(_ extra: [String]) throws -> String {
            let created = try CLI.run(["token", "create", "--data-dir", daemon.dataDirectory, "--name", "t"] + extra)
            try #require(created.status == 0, "\(created.stderr)")
            return created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let other = try token(["--user", "mallory", "--scope", "mcp", "--scope", "workflows"])
        let narrow = try token(["--scope", "mcp"])
        let result = try ServeTests().python([
            ServeTests.client("mcp_workflow_client.py"), daemon.url + "/mcp", daemon.token, other, narrow,
        ])
        daemon.process.process.terminate()
        let log = try await daemon.process.finish(within: 30)
        #expect(result.status == 0, "\(result.output)\n--- daemon log ---\n\(log.output.suffix(3000))")
        #expect(result.output.contains("all ok"))
    }
}
