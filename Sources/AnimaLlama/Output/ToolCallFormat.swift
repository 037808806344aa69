import AnimaCore
import AnimaProcessor

/// How tools are offered to a local model and how its calls are constrained.
///
/// The tool list goes into the system message and earlier calls are shown in the shape of
/// the model's family (`ToolCallSyntax`). While the model writes a call, a grammar holds
/// it to the tool names and their argument schemas. With `ToolChoice.auto` the grammar is
/// lazy by default: it wakes when the model writes the opening tag. With
/// `ToolConstraint.wholeAnswer` every token is under it: calls, or an answer that does not
/// start like one.
enum ToolCallFormat {
    static let maxCallsPerTurn = 8

    /// The messages with the tool instructions merged into the system message.
    static func messages(for request: GenerationRequest, syntax: ToolCallSyntax = .hermes) -> [(role: String, content: String)] {
        var out: [(role: String, content: String)] = []
        for message in request.messages {
            var content = message.content
            if message.role == .assistant, !message.toolCalls.isEmpty {
                content = ([content].filter { !$0.isEmpty } + [syntax.render(message.toolCalls)]).joined(separator: "\n")
            }
            out.append((message.role.rawValue, content))
        }
        let offered = offeredTools(request)
        guard !offered.isEmpty else { return out }
        let instructions = syntax.instructions(for: offered)
        if let first = out.first, first.role == "system" {
            out[0].content = first.content + "\n\n" + instructions
        } else {
            out.insert(("system", instructions), at: 0)
        }
        return out
    }

    static func offeredTools(_ request: GenerationRequest) -> [ToolDefinition] {
        switch request.toolChoice {
        case .none: []
        case .auto, .required: request.tools
        case .function(let name): request.tools.filter { $0.name == name }
        }
    }

    /// A grammar for the output, and for a lazy one the pattern that wakes it.
    struct Grammar: Sendable {
        var text: String
        /// Where the grammar starts: the first capture group of the first of these regular
        /// expressions to match the output so far; empty: from the first token.
        var triggers: [String] = []
        var lazy: Bool { !triggers.isEmpty }
    }

    /// The grammar for the request, if anything constrains the output.
    static func grammar(for request: GenerationRequest, syntax: ToolCallSyntax = .hermes) throws(ProcessorError) -> Grammar? {
        let tools = offeredTools(request)
        if case .function(let name) = request.toolChoice, tools.isEmpty {
            throw .invalidRequest("tool_choice names \"\(name)\" but no tool of that name was offered")
        }
        if request.toolChoice == .required, tools.isEmpty {
            throw .invalidRequest("tool_choice is required but no tools were offered")
        }
        let free = request.toolChoice == .auto && request.toolConstraint == .off
        let lazy = request.toolChoice == .auto && request.responseFormat == .text && request.toolConstraint == .whenCalling
        if request.toolChoice == .none, !request.tools.isEmpty, request.toolConstraint == .wholeAnswer, request.responseFormat == .text {
            // Tools withheld for this step (the model called the same tool twice): an answer in
            // words, starting with a letter or digit, so no call in any wrapping.
            return Grammar(text: "root ::= [^\\x00-\\x2F\\x3A-\\x40\\x5B-\\x60\\x7B-\\x7F] [^\\x00]*")
        }
        do {
            switch (tools.isEmpty || free, request.responseFormat) {
            case (true, .text):
                return nil
            case (true, .jsonObject):
                return Grammar(text: try JSONSchemaGrammar(schema: JSONSchema(["type": "object"])).text)
            case (true, .jsonSchema(let schema)):
                return Grammar(text: try JSONSchemaGrammar(schema: schema, mode: .strict).text)
            case (false, let format):
                let grammar = try JSONSchemaGrammar(
                    rootBody: { (compiler) throws(JSONSchemaError) in
                        var alternatives: [String] = []
                        for tool in tools {
                            // Relaxed: what a grammar cannot hold, the tool layer validates before running.
                            let args = try compiler.rule(for: tool.parameters, mode: .relaxed, hint: "\(tool.name)-args")
                            let name = JSONSchemaGrammar.literal(JSONValue.string(tool.name).jsonText)
                            let key = JSONSchemaGrammar.literal(JSONValue.string(syntax.argumentsKey).jsonText)
                            alternatives.append(
                                "\"{\" ws \"\\\"name\\\"\" ws \":\" ws \(name) ws \",\" ws \(key) ws \":\" ws \(args) ws \"}\""
                            )
                        }
                        let call = compiler.add("tool-call", alternatives.joined(separator: " | "))
                        let more = request.parallelToolCalls ? maxCallsPerTurn - 1 : 0
                        let calls = compiler.add("tool-calls", syntax.callsGrammar(call: call, more: more, fenced: lazy))
                        switch (request.toolChoice, format) {
                        case (.auto, .text):
                            guard request.toolConstraint == .wholeAnswer else { return calls }
                            return "\(calls) | \(answerNotACall)"
                        case (.auto, .jsonObject): return "\(calls) | object"
                        case (.auto, .jsonSchema(let schema)):
                            return "\(calls) | \(try compiler.rule(for: schema, mode: .strict, hint: "answer"))"
                        default: return calls
                        }
                    }, schema: nil, mode: .relaxed)
                return Grammar(text: grammar.text, triggers: lazy ? triggers(tools) : [])
            }
        } catch {
            throw .invalidSchema(error)
        }
    }

    /// An answer that does not start like a call: no brace, bracket, tag or blank.
    static let answerNotACall = "[^{\\[< \\t\\n\\r] [^\\x00]*"

    /// The lazy grammar starts at the opening tag, wherever the model writes it; at a
    /// ```json block that begins a call of one of `tools` by its whole name (a block of other
    /// JSON, even one with a "name" key, stays free); and at an answer that begins as a call,
    /// `{"name":`, so a call the model writes bare names an offered tool.
    static func triggers(_ tools: [ToolDefinition]) -> [String] {
        let names = tools.map { literal(JSONValue.string($0.name).jsonText) }.joined(separator: "|")
        let blank = "[ \\t\\n]*"
        let fenced = literal(ToolCallSyntax.fenceOpen) + "\(blank)\\[?\(blank)\\{\(blank)\"name\"\(blank):\(blank)(?:\(names))"
        return [
            "[\\s\\S]*?(" + literal(ToolCallSyntax.openTag) + "|" + fenced + ")[\\s\\S]*",
            "^\(blank)(\\{\(blank)\"name\"\(blank):)[\\s\\S]*",
        ]
    }

    /// `text` as a literal in llama.cpp's regular expressions (ECMAScript).
    static func literal(_ text: String) -> String {
        text.reduce(into: "") { out, c in
            if "\\^$.|?*+()[]{}/".contains(c) { out.append("\\") }
            out.append(c)
        }
    }
}
