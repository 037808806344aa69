import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaLlama
import AnimaProcessor
import ArgumentParser
import Foundation

/// Anima's function-calling suite: accuracy of tool calls with and without constraints.
///
/// Each case offers tools and a request; the answer is scored by AST match (the same tool
/// names, and every expected argument equal after normalising whitespace and case; an
/// extra argument only if the schema makes it optional). "Malformed" is output that starts
/// like a call or carries a call tag and did not parse, or a call of a tool not offered or
/// with arguments the schema refuses; "quoting", an answer in words with call-like JSON in
/// it; "cut", calls the token limit cut (an agent does not run them). Neither malformed nor
/// cut output is ever correct.
struct BenchFunctionCalling: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fc",
        abstract: "Score tool calls on Anima's function-calling suite, per tool strategy.",
        discussion: """
            Strategies: off (no grammar; calls parsed from whatever the model writes),
            native (the grammar wakes at the template's call tag), grammar (every token
            under the tools' grammar: the agents' default) and decide-first (a short
            "tool or answer?" step, then a forced call or a plain answer). Each strategy but
            off is scored twice on the same answers: with the calls as the model made them
            ("as made"), and as an agent's step runs them, where calls with no footing in
            the request are dropped and a step left with none answers in words.

            Example:
              anima-bench fc --strategies off,grammar --model ~/.cache/anima/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
            """
    )

    @Option(help: ArgumentHelp("The suite (default: contrib/bench/function-calling.json in the source tree).", valueName: "path"))
    var suite: String?

    @Option(help: "Comma-separated strategies: off, native, grammar, decide-first.")
    var strategies = "off,native,grammar,decide-first"

    @Option(
        help: NumericFlag.help("Run only the first n cases of each category (0: all).", 0...10_000),
        transform: NumericFlag.integer(0...10_000))
    var perCategory = 0

    @Option(help: NumericFlag.help("Generations at once.", 1...64), transform: NumericFlag.integer(1...64))
    var concurrency = 4

    @Flag(help: "Print every failed case.")
    var verbose = false

    @OptionGroup var modelOptions: ModelOptions

    struct Case: Sendable {
        var id: String
        var category: String
        var tools: [ToolDefinition]
        var prompt: String
        var expected: [(name: String, arguments: JSONObject)]
    }

    struct Outcome: Sendable {
        var correct: Bool
        var malformed: Bool
        /// An answer in words quoting call-like JSON (a tool's definition, most often).
        var quotes: Bool
        /// Calls the token limit cut (closed by the engine, shortened; an agent does not run them).
        var cut: Bool
        var detail: String
    }

    /// A case's outcome with the calls as the model made them, and (for a strategy, not
    /// `off`) as an agent's step runs them.
    typealias Outcomes = (asMade: Outcome, grounded: Outcome?)

    static var defaultSuite: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("contrib/bench/function-calling.json").path
    }

    static func load(_ path: String) throws -> [Case] {
        let json = try JSONValue(parsing: String(contentsOfFile: path, encoding: .utf8))
        var tools: [String: ToolDefinition] = [:]
        for (name, tool) in json["tools"]?.objectValue ?? JSONObject() {
            tools[name] = ToolDefinition(
                name: name, description: tool["description"]?.stringValue ?? "", parameters: try JSONSchema(tool["parameters"] ?? [:]))
        }
        return try (json["cases"]?.arrayValue ?? []).map { c in
            Case(
                id: c["id"]?.stringValue ?? "?", category: c["category"]?.stringValue ?? "?",
                tools: try (c["tools"]?.arrayValue ?? []).map { name in
                    guard let tool = name.stringValue.flatMap({ tools[$0] }) else {
                        throw ValidationError("case names an unknown tool: \(name)")
                    }
                    return tool
                },
                prompt: c["prompt"]?.stringValue ?? "",
                expected: (c["expected"]?.arrayValue ?? []).map {
                    ($0["name"]?.stringValue ?? "", $0["arguments"]?.objectValue ?? JSONObject())
                })
        }
    }

    mutating func run() async throws {
        let strategies = try self.strategies.split(separator: ",").map { raw -> String in
            let s = raw.trimmingCharacters(in: .whitespaces)
            guard ["off", "native", "grammar", "decide-first"].contains(s) else {
                throw ValidationError("unknown strategy \(s); use off, native, grammar or decide-first")
            }
            return s
        }
        var cases = try Self.load(suite ?? Self.defaultSuite)
        if perCategory > 0 {
            var seen: [String: Int] = [:]
            cases = cases.filter { c in
                seen[c.category, default: 0] += 1
                return seen[c.category]! <= perCategory
            }
        }
        var options = modelOptions
        if options.context == nil { options.context = 2048 }
        let engine = try await options.load(slots: concurrency)
        Self.say("model \(engine.info.name) (tool-call syntax \(engine.toolCallSyntax.rawValue)), \(cases.count) cases")
        Self.say("strategy                 accuracy  malformed  quoting  cut    seconds   single choose parallel none convert")
        for strategy in strategies {
            let start = Date()
            let outcomes = try await Self.score(cases, strategy: strategy, engine: engine, concurrency: concurrency)
            let seconds = Date().timeIntervalSince(start)
            let grounded = outcomes.compactMap { c, o in o.grounded.map { (c, $0) } }
            if !grounded.isEmpty { report("\(strategy), as made", outcomes.map { ($0, $1.asMade) }, cases: cases.count, seconds: seconds) }
            report(strategy, grounded.isEmpty ? outcomes.map { ($0, $1.asMade) } : grounded, cases: cases.count, seconds: seconds)
        }
    }

    func report(_ name: String, _ outcomes: [(Case, Outcome)], cases: Int, seconds: Double) {
        let share = { (n: Int) in Double(n) / Double(cases) }
        let perCategory = ["single", "choose", "parallel", "none", "convert"].map { category -> String in
            let these = outcomes.filter { $0.0.category == category }
            return these.isEmpty ? "-" : String(format: "%.2f", Double(these.filter(\.1.correct).count) / Double(these.count))
        }
        Self.say(
            name.padding(toLength: 24, withPad: " ", startingAt: 0)
                + String(
                    format: " %8.3f  %9.3f  %7.3f  %5.3f  %7.1f   %@", share(outcomes.filter(\.1.correct).count),
                    share(outcomes.filter(\.1.malformed).count), share(outcomes.filter(\.1.quotes).count),
                    share(outcomes.filter(\.1.cut).count), seconds, perCategory.joined(separator: "   ")))
        if verbose {
            for (c, o) in outcomes where !o.correct {
                Self.say("  \(c.id) \(o.malformed ? "MALFORMED " : "")\(o.quotes ? "QUOTES " : "")\(o.cut ? "CUT " : "")\(o.detail)")
            }
        }
    }

    /// Writes a line at once (print is buffered when stdout is a file): a long run shows
    /// each strategy as soon as it is measured.
    static func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

    static func score(_ cases: [Case], strategy: String, engine: LlamaEngine, concurrency: Int) async throws -> [(Case, Outcomes)] {
        try await withThrowingTaskGroup(of: (Int, Outcomes).self) { group in
            var results = [Outcomes?](repeating: nil, count: cases.count)
            var next = 0
            func launch() {
                guard next < cases.count else { return }
                let i = next
                next += 1
                group.addTask { (i, try await Self.run(cases[i], strategy: strategy, engine: engine)) }
            }
            for _ in 0..<concurrency { launch() }
            while let (i, outcome) = try await group.next() {
                results[i] = outcome
                launch()
            }
            return zip(cases, results.map { $0! }).map { ($0, $1) }
        }
    }

    /// The case's outcome with the calls as the model made them, and, for a strategy, after
    /// the agents' grounding check (`AgentLoop.ground`) on the same answer.
    static func run(_ c: Case, strategy: String, engine: LlamaEngine) async throws -> Outcomes {
        var request = GenerationRequest(
            messages: [.system(AgentLoop.defaultSystemPrompt), .user(c.prompt)], tools: c.tools, sampling: .greedy(maxTokens: 160))
        let generate = { (r: GenerationRequest) in try await engine.generate(r).collect() }
        guard let strategy = AgentLoop.ToolStrategy(rawValue: strategy) else {
            request.toolConstraint = .off
            return (judge(c, try await generate(request)), nil)
        }
        let asked = request
        try await AgentLoop.apply(strategy, to: &request, generate: generate)
        let result = try await generate(request)
        return (judge(c, result), judge(c, try await AgentLoop.ground(result, of: asked, generate: generate).result))
    }

    /// AST match of the calls against the expected ones, in any order.
    static func judge(_ c: Case, _ result: GenerationResult) -> Outcome {
        let calls = result.toolCalls
        let described = calls.map { "\($0.name)(\($0.arguments.jsonText))" }.joined(separator: ", ")
        let reason = result.finishReason == .length ? " (cut at the limit)" : ""
        let shown = calls.isEmpty ? "answer\(reason): \(result.text.prefix(200).replacingOccurrences(of: "\n", with: " "))" : described
        var malformed = false
        var quotes = false
        if calls.isEmpty {
            // Malformed: output that starts like a call, or carries a call tag, and did not parse.
            // An answer in words that quotes JSON further on is an answer (no parser, ours or an
            // API client's, reads a call out of prose); it is counted apart, as quoting.
            let t = result.text
            let start = t.drop { $0.isWhitespace }.first
            malformed = start == "{" || start == "[" || t.contains("<tool_call>") || t.contains("[TOOL_CALLS]")
            quotes = !malformed && t.contains("\"name\"") && t.contains("{")
        }
        for call in calls {
            guard let tool = c.tools.first(where: { $0.name == call.name }) else {
                malformed = true
                continue
            }
            if !tool.parameters.violations(of: call.arguments).isEmpty { malformed = true }
        }
        var unmatched = c.expected
        var correct = calls.count == c.expected.count
        if correct {
            for call in calls {
                let tool = c.tools.first { $0.name == call.name }
                guard let i = unmatched.firstIndex(where: { $0.name == call.name && matches($0.arguments, call.arguments, tool: tool) })
                else {
                    correct = false
                    break
                }
                unmatched.remove(at: i)
            }
        }
        let cut = !calls.isEmpty && result.finishReason == .length
        // Malformed output is never right, not even where no call was wanted: a model that writes
        // an imaginary call instead of answering has not answered.
        return Outcome(correct: correct && !cut && !malformed, malformed: malformed, quotes: quotes, cut: cut, detail: shown)
    }

    static func matches(_ expected: JSONObject, _ actual: JSONValue, tool: ToolDefinition?) -> Bool {
        guard let actual = actual.objectValue else { return false }
        for (key, want) in expected {
            guard let got = actual[key], same(want, got) else { return false }
        }
        let required = Set((tool?.parameters.json["required"]?.arrayValue ?? []).compactMap(\.stringValue))
        let properties = tool?.parameters.json["properties"]?.objectValue
        for (key, _) in actual where expected[key] == nil {
            // An extra argument is fine only if the schema offers it as optional.
            if required.contains(key) || properties?[key] == nil { return false }
        }
        return true
    }

    static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if let x = a.numberValue {
            if let y = b.numberValue { return abs(x - y) < 1e-9 }
            if let s = b.stringValue, let y = Double(s.trimmingCharacters(in: .whitespaces)) { return abs(x - y) < 1e-9 }
            return false
        }
        if let x = a.stringValue, let y = b.stringValue {
            let norm: (String) -> String = {
                $0.lowercased().filter { !$0.isWhitespace }.trimmingCharacters(in: CharacterSet(charactersIn: ".!?"))
            }
            return norm(x) == norm(y)
        }
        return a == b
    }
}
