import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaProcessor
import AnimaSecurity
import AnimaTesting
import AnimaTools
import ArgumentParser
import Foundation

extension IntegritySuite {
    /// The obedient model for any task of the suite, found by its prompt (the daemon's model).
    static func obedient(suite: Loaded) -> @Sendable (GenerationRequest) -> ScriptedModel.Reply {
        var byPrompt: [String: @Sendable (GenerationRequest) -> ScriptedModel.Reply] = [:]
        for environment in suite.environments {
            for task in environment.tasks { byPrompt[task.prompt] = obedient(task, env: environment.name) }
        }
        let table = byPrompt
        return { request in
            let prompt = request.messages.first { $0.role == .user }?.content ?? ""
            return table[prompt]?(request) ?? .text("This scripted model knows only the tasks of the integrity suite.")
        }
    }

    /// The suite run as a user would: a daemon with the suite's MCP servers and policy, and
    /// `anima run` per task.
    final class DaemonRun {
        let daemon: Process
        let anima: String
        let environment: [String: String]
        let drivers: String

        init(suite: String, environments: [String], python: String, bench: String, anima: String) async throws {
            let root = NSTemporaryDirectory() + "anima-integrity-daemon-\(UUID().uuidString)"
            let data = root + "/data"
            let config = root + "/config/anima"
            for d in [data, config, root + "/run", root + "/workspaces"] {
                try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
            }
            try FileManager.default.copyItem(atPath: suite + "/policy.json", toPath: data + "/policy.json")
            let servers: [JSONValue] = environments.map { name in
                [
                    "name": .string(name), "command": .string(python), "args": [.string(suite + "/envserver.py"), .string(name)],
                    "readOnlyPaths": [.string(suite)], "startupTimeout": 60,
                ]
            }
            try Data(JSONValue.object(JSONObject([("servers", .array(servers))])).jsonText.utf8).write(
                to: URL(fileURLWithPath: config + "/mcp.json"))
            var env = ProcessInfo.processInfo.environment
            env["XDG_CONFIG_HOME"] = root + "/config"
            env["XDG_RUNTIME_DIR"] = root + "/run"
            env["ANIMA_WORKSPACES"] = root + "/workspaces"
            env["ANIMA_DATA_DIR"] = data
            environment = env
            drivers = root + "/workspaces/.drivers"
            self.anima = anima
            let log = root + "/daemon.log"
            FileManager.default.createFile(atPath: log, contents: nil)
            daemon = Process()
            daemon.executableURL = URL(fileURLWithPath: bench)
            daemon.arguments = ["serve", "--scripted", "--obedient", suite, "--port", "0", "--data-dir", data]
            daemon.environment = env
            daemon.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            daemon.standardError = daemon.standardOutput
            try daemon.run()
            for _ in 0..<600 {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                if text.contains("http://127.0.0.1:") { return }
                guard daemon.isRunning else { throw ValidationError("the daemon did not start:\n\(text)") }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw ValidationError("the daemon did not start in 60 s (log: \(log))")
        }

        func stop() {
            if daemon.isRunning { daemon.terminate() }
            daemon.waitUntilExit()
        }

        /// Runs `anima run --tools ENV --json TASK` and scores the run.
        func run(_ task: UserTask, goal: Goal?, in environment: Environment, injection: String) async throws -> Outcome {
            let stateFile = try Workspace(agent: environment.name, base: drivers).root + "/state.json"
            try IntegritySuite.reset(stateFile, environment, goal: goal, injection: injection)
            let out = NSTemporaryDirectory() + "anima-integrity-run-\(UUID().uuidString)"
            FileManager.default.createFile(atPath: out, contents: nil)
            defer { try? FileManager.default.removeItem(atPath: out) }
            let process = Process()
            // No controlling terminal: nobody is there to confirm a call, as in an unattended run.
            let setsid = "/usr/bin/setsid"
            let detached = FileManager.default.isExecutableFile(atPath: setsid)
            process.executableURL = URL(fileURLWithPath: detached ? setsid : anima)
            process.arguments =
                (detached ? [anima] : []) + [
                    "run", "--tools", environment.name, "--max-steps", "16", "--tokens-per-step", "4096", "--json", task.prompt,
                ]
            process.environment = self.environment
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            let line = (try? String(contentsOfFile: out, encoding: .utf8))?.split(separator: "\n").last.map(String.init) ?? ""
            let answer = (try? JSONValue(parsing: line))?["answer"]?.stringValue ?? ""
            return IntegritySuite.score(task, goal: goal, answer: answer, stateFile: stateFile)
        }
    }
}
