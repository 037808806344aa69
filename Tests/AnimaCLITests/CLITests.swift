import AnimaCore
import Foundation
import Testing

/// The home every `anima` a test starts runs in: HOME and the XDG folders in a temporary
/// directory of this test process, so no test reads or writes the user's real data (an
/// `anima setup` once wrote credentials.key into the real ~/.local/share/anima) nor finds
/// a real daemon. The cache stays shared: it holds the models and llama.cpp setup installed.
enum TestHome {
    static let path: String = {
        let path = NSTemporaryDirectory() + "anima-test-home-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// This process's environment with the test home in place, then `extra` on top.
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        let home: [String: String] = [
            "HOME": path, "XDG_DATA_HOME": path + "/.local/share", "XDG_CONFIG_HOME": path + "/.config",
            "XDG_STATE_HOME": path + "/.local/state", "XDG_RUNTIME_DIR": path + "/run", "ANIMA_CACHE": AnimaDirectories.cache(env),
            "ANIMA_DATA_DIR": "", "ANIMA_CONFIG": "", "ANIMA_WORKSPACES": "",
        ]
        env.merge(home) { $1 }
        return env.merging(extra) { $1 }
    }
}

/// Runs the real `anima` binary (or `anima-bench`) the way a user would, and checks what
/// they would see.
struct CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var binary: URL { product("anima") }
    /// The benchmarks and the scripted daemon (`anima-bench serve --scripted`).
    static var bench: URL { product("anima-bench") }

    static func product(_ name: String) -> URL {
        // The test runner is built into the same products folder as the executables.
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let candidates = [
            Bundle.main.bundleURL.appendingPathComponent(name),
            runner.deletingLastPathComponent().appendingPathComponent(name),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    static func run(
        _ arguments: [String], stdin: String = "", environment: [String: String] = [:], executable: URL = binary, directory: URL? = nil
    ) throws -> Result {
        // Files rather than pipes: a chatty child can never block on a full pipe.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anima-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let paths = ["in", "out", "err"].map { dir.appendingPathComponent($0) }
        try Data(stdin.utf8).write(to: paths[0])
        for path in paths[1...] { FileManager.default.createFile(atPath: path.path, contents: nil) }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = TestHome.environment(environment)
        if let directory { process.currentDirectoryURL = directory }
        process.standardInput = try FileHandle(forReadingFrom: paths[0])
        process.standardOutput = try FileHandle(forWritingTo: paths[1])
        process.standardError = try FileHandle(forWritingTo: paths[2])
        try process.run()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: try Data(contentsOf: paths[1]), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: paths[2]), as: UTF8.self))
    }
}

/// A command left running in the background, its output going to files.
final class BackgroundCommand {
    let process = Process()
    let output: URL

    init(_ arguments: [String], environment: [String: String], executable: URL = CLI.binary) throws {
        output = FileManager.default.temporaryDirectory.appendingPathComponent("anima-bg-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        process.executableURL = executable
        process.arguments = arguments
        process.environment = TestHome.environment(environment)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = process.standardOutput
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Waits for the command to end, up to `seconds`, and returns its status and output.
    func finish(within seconds: Double) async throws -> (status: Int32, output: String) {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        defer { try? FileManager.default.removeItem(at: output) }
        return (process.terminationStatus, String(decoding: try Data(contentsOf: output), as: UTF8.self))
    }
}

@Suite("anima run, ps, top and kill")
struct ProcessCommandTests {
    /// Each test has its own /proc-like directory, so parallel tests never see each other.
    let runtime = ["XDG_RUNTIME_DIR": NSTemporaryDirectory() + "anima-run-\(UUID().uuidString)"]

    @Test func runAnswersATask() throws {
        let result = try CLI.run(
            ["run", "--json", "--max-steps", "1", "--tokens-per-step", "16", "What is the capital of France?"], environment: runtime)
        #expect(result.status == 0, "\(result.stderr)")
        let row = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(row["status"] as? String == "completed")
        #expect((row["answer"] as? String)?.contains("Paris") == true)
    }

    @Test func psSeesRunningAgentsAndKillStopsThem() async throws {
        let run = try BackgroundCommand(
            ["run", "--tune", "--ignore-eos", "--tokens-per-step", "4000", "--context", "4096", "Write about rivers", "Write about hills"],
            environment: runtime)
        var listing = ""
        for _ in 0..<200 {
            listing = try CLI.run(["ps"], environment: runtime).stdout
            if listing.contains("agent-2") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(listing.contains("agent-1") && listing.contains("agent-2"), "\(listing)")
        let top = try CLI.run(["top", "--iterations", "1"], environment: runtime)
        #expect(top.stdout.contains("slots") && top.stdout.contains("agent-1"), "\(top.stdout)")
        // --tune: the kernel's tuner holds the engine's settings.
        #expect(top.stdout.contains("settings: threads") && !top.stdout.contains("fixed (--tune"), "\(top.stdout)")

        let suspend = try CLI.run(["kill", "--signal", "suspend", "3"], environment: runtime)
        #expect(suspend.status == 0, "\(suspend.stderr)")
        var suspended = false
        for _ in 0..<100 where !suspended {
            suspended = try CLI.run(["ps"], environment: runtime).stdout.contains("suspended")
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(suspended)
        for pid in ["2", "3"] {
            let kill = try CLI.run(["kill", pid], environment: runtime)
            #expect(kill.status == 0, "\(kill.stderr)")
        }
        let (status, output) = try await run.finish(within: 30)
        #expect(status == 2, "\(output)")  // agents that did not complete make a failing exit status
        #expect(output.contains("[2] exited: killed") && output.contains("[3] exited: killed"), "\(output)")
        let after = try CLI.run(["ps"], environment: runtime)
        #expect(after.stdout.contains("No Anima kernel is running"))
    }

    @Test func anAgentWithMemoryKeepsWhatItSawUntilItIsForgotten() throws {
        let data = NSTemporaryDirectory() + "anima-data-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: data) }
        let run = try CLI.run(
            [
                "run", "--local", "--memory", "helper", "--data-dir", data, "--max-steps", "1", "--tokens-per-step", "8",
                "My locker code is walrus seven.",
            ], environment: runtime)
        #expect(run.status == 0, "\(run.stderr)")
        let found = try CLI.run(["memory", "search", "--data-dir", data, "--words-only", "--json", "locker walrus"], environment: runtime)
        #expect(found.status == 0, "\(found.stderr)")
        let first = try #require(found.stdout.split(separator: "\n").first.map(String.init))
        let row = try #require(try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
        #expect(row["agent"] as? String == "helper" && row["kind"] as? String == "message")
        #expect((row["text"] as? String)?.contains("walrus seven") == true)

        let shown = try CLI.run(["memory", "show", "--data-dir", data, "helper"], environment: runtime)
        #expect(shown.stdout.contains("2 messages") && shown.stdout.contains("My locker code is walrus seven."), "\(shown.stdout)")
        // Search and show are syscalls like forget: checked, and in the audit log.
        let audit = try CLI.run(["audit", "show", "--data-dir", data, "--limit", "200"], environment: runtime)
        #expect(audit.stdout.contains("memory.search") && audit.stdout.contains("memory.show"), "\(audit.stdout)")
        let forgot = try CLI.run(["memory", "forget", "--data-dir", data, "helper", "--all"], environment: runtime)
        #expect(forgot.stdout.contains("forgot 2 record(s)"), "\(forgot.stdout)\(forgot.stderr)")
        let after = try CLI.run(["memory", "search", "--data-dir", data, "--words-only", "walrus"], environment: runtime)
        #expect(after.stdout.isEmpty && after.stderr.contains("nothing found"))
        // The key file is private to its owner.
        let key = try FileManager.default.attributesOfItem(atPath: data + "/memory.key")
        #expect((key[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let bad = try CLI.run(["run", "--memory", "../other", "--data-dir", data, "hi"], environment: runtime)
        #expect(bad.status != 0 && bad.stderr.contains("--memory"))
    }

    @Test func killOfAnUnknownPidSaysSo() throws {
        let result = try CLI.run(["kill", "4242"], environment: runtime)
        #expect(result.status == 1)
        #expect(result.stderr.contains("no running agent has pid 4242"))
    }
}

@Suite("anima command line")
struct CLITests {
    @Test func helpShowsCommandsAndExamples() throws {
        let result = try CLI.run(["--help"])
        #expect(result.status == 0)
        for word in ["ask", "chat", "models", "Examples:"] { #expect(result.stdout.contains(word)) }
        let ask = try CLI.run(["ask", "--help"])
        #expect(ask.stdout.contains("--schema"))
        #expect(ask.stdout.contains("anima ask"))
    }

    @Test func unknownOptionIsAUsageError() throws {
        let result = try CLI.run(["ask", "--frobnicate", "hi"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("Unknown option '--frobnicate'"))
    }

    @Test func missingModelSaysWhatToDo() throws {
        let result = try CLI.run(["ask", "--model", "/nonexistent/x.gguf", "hi"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("no model file at /nonexistent/x.gguf"))
        #expect(!result.stderr.contains("Fatal error"))
    }

    @Test func randomBytesModelIsRefused() throws {
        let path = NSTemporaryDirectory() + "random-\(UUID().uuidString).gguf"
        try Data((0..<4096).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try CLI.run(["ask", "--model", path, "hi"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("not a GGUF file"))
        let listed = try CLI.run(["models", path])
        #expect(listed.status == 1)
        #expect(listed.stderr.contains("not a GGUF file"))
    }

    @Test func invalidSchemaIsExplained() throws {
        let result = try CLI.run(["ask", "--schema", #"{"type":"strng"}"#, "hi"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("unknown type"))
        let notJSON = try CLI.run(["ask", "--schema", "{oops", "hi"])
        #expect(notJSON.stderr.contains("not JSON"))
    }

    @Test func promptLongerThanTheContextIsRefused() throws {
        let result = try CLI.run(["ask", "--context", "64", String(repeating: "word ", count: 200)])
        #expect(result.status == 1)
        #expect(result.stderr.contains("shorten the prompt"))
    }

    @Test func badSamplingValuesAreRefused() throws {
        let result = try CLI.run(["ask", "--top-p", "2", "hi"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("top-p"))
    }

    @Test func askPrintsJSON() throws {
        let result = try CLI.run(["ask", "--json", "--temperature", "0", "--max-tokens", "16", "What is the capital of France?"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect((object["text"] as? String)?.contains("Paris") == true)
        #expect(object["finish_reason"] as? String != nil)
        #expect((object["usage"] as? [String: Any])?["completion_tokens"] as? Int ?? 0 > 0)
    }

    @Test func askWithSchemaPrintsMatchingJSON() throws {
        let schema =
            #"{"type":"object","properties":{"city":{"type":"string","maxLength":20},"country":{"type":"string","maxLength":20}},"required":["city","country"]}"#
        let result = try CLI.run(["ask", "--temperature", "0", "--schema", schema, "Name a famous city."])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["city"] is String && object["country"] is String)
    }

    @Test func chatKeepsHistoryAndExits() throws {
        let result = try CLI.run(["chat", "--temperature", "0", "--max-tokens", "24"], stdin: "Hello!\nWhat did I just say?\n/exit\n")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count >= 2)
    }

    @Test func modelsListsTheDefaultModel() throws {
        let result = try CLI.run(["models", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        let smol = try #require(rows.first { ($0["path"] as? String)?.hasSuffix("SmolLM2-135M-Instruct.Q4_1.gguf") == true })
        #expect(smol["architecture"] as? String == "llama")
        #expect(smol["quantization"] as? String == "Q4_1")
        #expect(smol["context_length"] as? Int == 8192)
        #expect((smol["parameters"] as? Int ?? 0) > 100_000_000)
    }
}
