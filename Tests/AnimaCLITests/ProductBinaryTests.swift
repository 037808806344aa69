import Foundation
import Testing

/// The product binary holds no test double and no benchmark: those live in `anima-bench`
/// (issue 15, item 4). Type names are in every Swift binary's reflection metadata, so a
/// test double linked into `anima` would show up by name.
@Suite struct ProductBinaryTests {
    static let testDoubles = ["ScriptedModel", "ScriptedProcessor", "VirtualClock", "ReplayServer", "AnimaTesting"]

    @Test func animaHoldsNoTestDoubleAndAnimaBenchDoes() throws {
        let anima = try Data(contentsOf: CLI.binary)
        let bench = try Data(contentsOf: CLI.bench)
        for name in Self.testDoubles {
            #expect(anima.range(of: Data(name.utf8)) == nil, "the anima binary contains \(name)")
        }
        // The same search finds them where they are linked: the check can fail.
        for name in ["ScriptedProcessor", "ReplayServer"] {
            #expect(bench.range(of: Data(name.utf8)) != nil, "anima-bench does not contain \(name)")
        }
    }

    @Test func benchmarksAndTheScriptedDaemonAreAnimaBenchCommands() throws {
        let bench = try CLI.run(["bench", "decode", "--concurrency", "1"])
        #expect(bench.status == 64, "anima still has a bench command: \(bench.stdout)")
        #expect(!(try CLI.run(["--help"]).stdout.contains("  bench")))
        let scripted = try CLI.run(["serve", "--scripted"])
        #expect(scripted.status == 64 && scripted.stderr.contains("--scripted"), "\(scripted.stderr)")
        let help = try CLI.run(["--help"], executable: CLI.bench)
        for command in ["decode", "agents", "syscalls", "memory", "security", "tools", "router", "serve", "mcp"] {
            #expect(help.stdout.contains("  \(command)"), "anima-bench --help lacks \(command): \(help.stdout)")
        }
        // scripted = true from the environment (or a config file) is refused, not served.
        let data = NSTemporaryDirectory() + "anima-no-scripted-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: data) }
        let configured = try CLI.run(["serve", "--port", "0", "--data-dir", data], environment: ["ANIMA_SCRIPTED": "true"])
        #expect(configured.status != 0 && configured.stderr.contains("anima-bench serve --scripted"), "\(configured.stderr)")
        let unscripted = try CLI.run(["serve", "--port", "0"], executable: CLI.bench)
        #expect(unscripted.status == 64 && unscripted.stderr.contains("add --scripted"), "\(unscripted.stderr)")
    }
}
