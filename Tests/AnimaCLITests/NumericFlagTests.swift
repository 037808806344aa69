import AnimaCore
import Foundation
import Synchronization
import Testing

/// Issue 14 (C2, L8): every numeric flag of every command of `anima` and `anima-bench`, found
/// in the commands' own definitions (`--experimental-dump-help`), gets what a hostile user can type. Each
/// must stop with a usage error naming the flag, before anything is loaded: never a
/// crash (a signal), never a late failure.
@Suite("Numeric flags of every command")
struct NumericFlagTests {
    static let hostile = [
        "1e300", "-1e300", "9223372036854775808", "18446744073709551617", "-9223372036854775809", "1e400", "nan", "inf", "-inf", "0x10",
    ]

    /// A numeric argument of one command, with the range its help declares.
    struct Argument: CustomStringConvertible {
        var command: [String]
        var name: String
        var positional: Bool
        var lower: Double
        var upper: Double
        /// Other positional arguments the command requires, filled with a harmless word.
        var otherPositionals: Int
        var description: String { (command + [positional ? "<\(name)>" : "--\(name)"]).joined(separator: " ") }
    }

    struct Outcome {
        var status: Int32
        var signalled: Bool
        var stderr: String
    }

    /// Runs a command line whose first word names the executable (`anima` or `anima-bench`).
    static func run(_ line: [String]) throws -> Outcome {
        let err = FileManager.default.temporaryDirectory.appendingPathComponent("anima-flag-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: err.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: err) }
        let process = Process()
        process.executableURL = CLI.product(line[0])
        process.arguments = Array(line.dropFirst())
        // A fresh runtime directory: a running daemon elsewhere must not change what a flag does.
        process.environment = TestHome.environment(["XDG_RUNTIME_DIR": NSTemporaryDirectory() + "anima-flags-none"])
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
            stderr: String(decoding: try Data(contentsOf: err), as: UTF8.self))
    }

    /// Every command's arguments, from the definitions the binaries themselves print; each
    /// command path starts with its executable's name.
    static func definitions() throws -> [(command: [String], arguments: [JSONValue])] {
        var out: [(command: [String], arguments: [JSONValue])] = []
        for executable in ["anima", "anima-bench"] {
            let dump = try CLI.run(["--experimental-dump-help"], executable: CLI.product(executable))
            try #require(dump.status == 0, "\(dump.stderr)")
            let root = try JSONValue(parsing: dump.stdout)
            func walk(_ command: JSONValue, _ path: [String]) {
                out.append((path, command["arguments"]?.arrayValue ?? []))
                for sub in command["subcommands"]?.arrayValue ?? [] {
                    walk(sub, path + [sub["commandName"]?.stringValue ?? "?"])
                }
            }
            walk(try #require(root["command"]), [executable])
        }
        return out
    }

    static var rangePattern: Regex<(Substring, Substring, Substring)> { #/\(range (-?[0-9.e+]+) to (-?[0-9.e+]+)\)/# }

    static func numericArguments() throws -> [Argument] {
        var out: [Argument] = []
        for (command, arguments) in try definitions() {
            let requiredPositionals = arguments.filter { $0["kind"] == "positional" && $0["isOptional"] != true }
            for argument in arguments {
                guard let abstract = argument["abstract"]?.stringValue, let match = abstract.firstMatch(of: rangePattern),
                    let lower = Double(match.1), let upper = Double(match.2),
                    let name = argument["preferredName"]?["name"]?.stringValue ?? argument["valueName"]?.stringValue
                else { continue }
                let positional = argument["kind"] == "positional"
                out.append(
                    Argument(
                        command: command, name: name, positional: positional, lower: lower, upper: upper,
                        otherPositionals: requiredPositionals.count - (positional ? 1 : 0)))
            }
        }
        return out
    }

    /// A numeric flag without a declared range would escape the test below: there are none.
    @Test func everyOptionWithANumericDefaultDeclaresItsRange() throws {
        var unranged: [String] = []
        for (command, arguments) in try Self.definitions() {
            for argument in arguments where argument["kind"] == "option" {
                guard let value = argument["defaultValue"]?.stringValue,
                    Double(value) != nil || value.hasPrefix("[") && value.contains(where: \.isNumber)
                else { continue }
                if argument["abstract"]?.stringValue?.firstMatch(of: Self.rangePattern) == nil {
                    unranged.append((command + ["--" + (argument["preferredName"]?["name"]?.stringValue ?? "?")]).joined(separator: " "))
                }
            }
        }
        #expect(unranged.isEmpty, "numeric flags without NumericFlag: \(unranged)")
    }

    @Test func everyNumericFlagRefusesHostileValuesWithAUsageError() throws {
        let arguments = try Self.numericArguments()
        // The flags issue 14 names, and one of each kind, must be among those found.
        let found = Set(arguments.map(\.description))
        for expected in [
            "anima run --max-seconds", "anima run --slots", "anima run --context", "anima serve --slots", "anima ask --seed",
            "anima ask --temperature",
            "anima kill <pid>", "anima-bench decode --concurrency", "anima-bench serve --slots",
        ] {
            #expect(found.contains(expected), "no numeric argument \(expected) among \(found.sorted())")
        }
        var cases: [(Argument, String)] = []
        for argument in arguments {
            var values = Self.hostile
            // Just outside the declared range, where that is a number one can type.
            if argument.upper < 1e15 { values.append(NumericFlagTestsFormat.text(argument.upper + 1)) }
            if argument.lower > -1e15 {
                values.append(
                    NumericFlagTestsFormat.text(argument.lower - (argument.lower.rounded() == argument.lower ? 1 : argument.lower / 2)))
            }
            cases += values.map { (argument, $0) }
        }
        let outcomes = Mutex<[(Argument, String, Result<Outcome, any Error>)]>([])
        let all = cases
        // Four at a time: each is a short-lived process that fails while parsing.
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for index in stride(from: worker, to: all.count, by: 4) {
                let (argument, value) = all[index]
                var line = argument.command
                line += argument.positional ? ["--", value] : ["--\(argument.name)=\(value)"]
                line += Array(repeating: "word", count: argument.otherPositionals)
                let outcome = Result { try Self.run(line) }
                outcomes.withLock { $0.append((argument, value, outcome)) }
            }
        }
        let results = outcomes.withLock { $0 }
        #expect(results.count == cases.count && cases.count >= 300, "\(cases.count) cases")
        for (argument, value, result) in results {
            guard case .success(let outcome) = result else {
                Issue.record("\(argument) \(value): \(result)")
                continue
            }
            #expect(!outcome.signalled, "\(argument) \(value) crashed with signal \(outcome.status): \(outcome.stderr)")
            #expect(outcome.status == 64, "\(argument) \(value): exit \(outcome.status), not a usage error: \(outcome.stderr)")
            #expect(
                outcome.stderr.contains(argument.positional ? "<\(argument.name)>" : "--\(argument.name)")
                    && outcome.stderr.contains("must be"),
                "\(argument) \(value): \(outcome.stderr)")
        }
    }

    @Test func theIssuesExamplesSayWhatIsAccepted() throws {
        let seconds = try Self.run(["anima", "run", "--max-seconds", "1e300", "a task"])
        #expect(!seconds.signalled && seconds.status == 64)
        #expect(seconds.stderr.contains("--max-seconds") && seconds.stderr.contains("a number from 0.001 to 86400"), "\(seconds.stderr)")
        let infinite = try Self.run(["anima", "run", "--max-seconds", "inf", "a task"])
        #expect(!infinite.signalled && infinite.stderr.contains("not a finite number"), "\(infinite.stderr)")
        // llama.cpp holds 256 sequences and one serves shared prefixes: 255 slots at most, said at once.
        let slots = try Self.run(["anima", "serve", "--slots", "256"])
        #expect(slots.status == 64 && slots.stderr.contains("an integer from 1 to 255"), "\(slots.stderr)")
    }

    @Test func aContextLongerThanTheModelWasTrainedForIsRefusedNotCapped() throws {
        // SmolLM2 was trained for 8192 tokens; before, 100000 silently became 8192.
        let result = try CLI.run(["ask", "--context", "100000", "--max-tokens", "1", "hi"])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("was trained for") && result.stderr.contains("at most 8192"), "\(result.stderr)")
    }

    @Test func anEmbeddingModelAsTheChatModelIsExplainedNotACrash() throws {
        let embedding = ServeTests.cache + "/models/all-MiniLM-L6-v2.F16.gguf"
        try #require(FileManager.default.fileExists(atPath: embedding), "setup installs the embedding model")
        // The error for a model without a chat template advises --chat-template chatml: following it crashed.
        let result = try Self.run(["anima", "ask", "--model", embedding, "--chat-template", "chatml", "hello"])
        #expect(!result.signalled, "crashed with signal \(result.status): \(result.stderr)")
        #expect(result.status == 1 && result.stderr.contains("embedding model"), "\(result.stderr)")
    }
}

enum NumericFlagTestsFormat {
    static func text(_ x: Double) -> String { x.rounded() == x && abs(x) < 1e15 ? String(Int64(x)) : "\(x)" }
}
