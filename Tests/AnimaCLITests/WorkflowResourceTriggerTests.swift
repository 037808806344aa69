import AnimaAutomation
import AnimaCommandSupport
import AnimaCore
import AnimaTools
import Foundation
import Testing

/// A workflow started by an MCP resource changing: the daemon's driver subscribes to the
/// resource on a small server written with the official `mcp` package (MCPServer), and each
/// `notifications/resources/updated` for it starts a run; updates of other resources do not.
@Suite("Workflows triggered by MCP resources")
struct WorkflowResourceTriggerTests {
    static let venv = ServeTests.cache + "/tools-venv"
    static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Servers/notes_server.py").path

    @Test(.timeLimit(.minutes(2))) func eachUpdateOfTheResourceStartsARun() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.venv + "/bin/python"), "run `make setup` for the tools venv")
        let base = NSTemporaryDirectory() + "anima-wf-resource-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: base) }
        // The script where the sandbox's user can read it.
        let folder = base + "/notes-server"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        chmod(base, 0o755)
        chmod(folder, 0o755)
        try FileManager.default.copyItem(atPath: Self.source, toPath: folder + "/notes_server.py")
        chmod(folder + "/notes_server.py", 0o644)
        let driver = MCPDriver(
            MCPServerConfiguration(
                name: "notes", command: Self.venv + "/bin/python", args: [folder + "/notes_server.py"], readOnlyPaths: [folder],
                startupTimeout: 30),
            workspaceBase: base + "/drivers")
        defer { Task { await driver.stop() } }

        let store = try SQLiteWorkflowStore(directory: URL(fileURLWithPath: base + "/data"))
        let engine = WorkflowEngine(store: store, actions: KernelStepActions(kernel: nil), pollInterval: .milliseconds(10))
        let owner = Principal(name: "alice", groups: ["users"])
        _ = try await engine.add(
            #"""
            {"name": "on-notes", "triggers": [{"type": "mcp_resource", "server": "notes", "uri": "notes://today"}],
             "steps": [{"id": "w", "type": "wait", "seconds": 0}], "output": "${inputs.uri}"}
            """#, owner: owner)
        // A trigger naming a server that is not running is skipped, not fatal.
        _ = try await engine.add(
            #"{"name": "on-absent", "triggers": [{"type": "mcp_resource", "server": "absent", "uri": "x://y"}], "steps": [{"id": "w", "type": "wait", "seconds": 0}]}"#,
            owner: owner)
        let triggers = TriggerService(engine: engine, resources: MCPResourceWatcher(drivers: [driver]))
        let finished = await engine.finishedRuns()
        await triggers.refreshResourceWatchers()
        var runs: [WorkflowRun] = []
        for await run in finished {
            runs.append(run)
            if runs.count == 3 { break }
        }
        #expect(runs.allSatisfy { $0.workflow == "on-notes" && $0.trigger == "mcp_resource" && $0.status == .completed })
        #expect(runs.allSatisfy { $0.output?.value == "notes://today" })
        // What a server says is its data, not the user's: untrusted, labelled with the server.
        #expect(runs.allSatisfy { $0.inputs.label.sources.contains(.tool("notes")) && !$0.inputs.label.isTrusted })
        try await Task.sleep(for: .milliseconds(500))
        let all = try await store.runs(workflow: nil, limit: 100)
        #expect(all.count == 3, "only the three updates of notes://today start runs: \(all.map(\.inputs.value))")
        #expect(all.allSatisfy { $0.workflow == "on-notes" })
    }

    /// The same through the binary: `anima workflow worker --mcp-config` starts the server and
    /// subscribes for the workflow added to its data directory.
    @Test(.timeLimit(.minutes(2))) func theWorkerSubscribesForItsWorkflows() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.venv + "/bin/python"), "run `make setup` for the tools venv")
        let base = NSTemporaryDirectory() + "anima-wf-resource-cli-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let folder = base + "/notes-server"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        chmod(base, 0o755)
        chmod(folder, 0o755)
        try FileManager.default.copyItem(atPath: Self.source, toPath: folder + "/notes_server.py")
        chmod(folder + "/notes_server.py", 0o644)
        let mcp =
            #"{"servers": [{"name": "notes", "command": "\#(Self.venv)/bin/python", "args": ["\#(folder)/notes_server.py"], "readOnlyPaths": ["\#(folder)"], "startupTimeout": 30}]}"#
        try mcp.write(toFile: base + "/mcp.json", atomically: true, encoding: .utf8)
        try
            #"{"name": "on-notes", "triggers": [{"type": "mcp_resource", "server": "notes", "uri": "notes://today"}], "steps": [{"id": "w", "type": "wait", "seconds": 0}]}"#
            .write(toFile: base + "/on-notes.json", atomically: true, encoding: .utf8)
        let data = base + "/data"
        let env = ["ANIMA_WORKSPACES": base + "/workspaces"]
        try #require(try CLI.run(["workflow", "add", base + "/on-notes.json", "--data-dir", data], environment: env).status == 0)
        let worker = try BackgroundCommand(
            ["workflow", "worker", "--mcp-config", base + "/mcp.json", "--data-dir", data], environment: env)
        var runs: [JSONValue] = []
        for _ in 0..<300 {
            let listed = try CLI.run(["workflow", "runs", "--json", "--data-dir", data], environment: env)
            runs = (try? JSONValue(parsing: listed.stdout))?.arrayValue ?? []
            if runs.count >= 3, runs.allSatisfy({ $0["status"] == "completed" }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        try #require(worker.process.processIdentifier > 0)
        kill(worker.process.processIdentifier, SIGKILL)
        let output = try await worker.finish(within: 5).output
        #expect(runs.count == 3, "\(runs) \(output.suffix(2000))")
        #expect(runs.allSatisfy { $0["trigger"] == "mcp_resource" && $0["inputs"]?["uri"] == "notes://today" })
    }

    @Test func badResourceTriggersNameTheField() {
        for (text, field) in [
            (#"{"type": "mcp_resource", "uri": "x://y"}"#, "server"),
            (#"{"type": "mcp_resource", "server": "a/b", "uri": "x://y"}"#, "server"),
            (#"{"type": "mcp_resource", "server": "notes", "uri": "nocolon"}"#, "uri"),
            (#"{"type": "mcp_resource", "server": "notes", "uri": "x://y", "extra": 1}"#, "extra"),
        ] {
            let error = #expect(throws: WorkflowError.self) {
                _ = try Workflow(parsing: #"{"name": "w", "steps": [{"id": "w", "type": "wait", "seconds": 0}], "triggers": [\#(text)]}"#)
            }
            #expect(
                error?.description.contains("triggers[0]") == true && error?.description.contains(field) == true,
                "\(String(describing: error))")
        }
    }
}
