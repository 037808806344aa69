import Foundation
import Testing

/// Runs the real `anima` binary the way a user would, and checks what they would see.
struct CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var binary: URL {
        // The test runner is built into the same products folder as `anima`.
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let candidates = [
            Bundle.main.bundleURL.appendingPathComponent("anima"),
            runner.deletingLastPathComponent().appendingPathComponent("anima"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    static func run(_ arguments: [String], stdin: String = "", environment: [String: String] = [:]) throws -> Result {
        // Files rather than pipes: a chatty child can never block on a full pipe.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anima-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let paths = ["in", "out", "err"].map { dir.appendingPathComponent($0) }
        try Data(stdin.utf8).write(to: paths[0])
        for path in paths[1...] { FileManager.default.createFile(atPath: path.path, contents: nil) }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
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
        let schema = #"{"type":"object","properties":{"city":{"type":"string","maxLength":20},"country":{"type":"string","maxLength":20}},"required":["city","country"]}"#
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
