import AnimaCore
import AnimaProcessor

/// How each family's calls are offered, shown and constrained on the local engine.
///
/// Parsing accepts every shape (see `OutputAssembler`), because small models drift from
/// their template (Qwen2.5-Coder writes bare JSON although its template asks for tags).
extension ToolCallSyntax {
    static let openTag = "<tool_call>"
    static let closeTag = "</tool_call>"
    static let mistralMarker = "[TOOL_CALLS]"
    /// A Markdown JSON block, where models that explain first put their calls.
    static let fenceOpen = "```json"
    static let fenceClose = "```"

    /// The key that holds a call's arguments in this family's JSON.
    var argumentsKey: String { self == .llama3 ? "parameters" : "arguments" }

    /// How an earlier call of the conversation is shown to the model.
    func render(_ calls: [ToolCall]) -> String {
        let objects: [JSONValue] = calls.map { ["name": .string($0.name), argumentsKey: $0.arguments] }
        switch self {
        case .hermes:
            return objects.map { "\(Self.openTag)\n\($0.jsonText)\n\(Self.closeTag)" }.joined(separator: "\n")
        case .smolLM2:
            return "\(Self.openTag)\(JSONValue.array(objects).jsonText)\(Self.closeTag)"
        case .mistral:
            return Self.mistralMarker + JSONValue.array(objects).jsonText
        case .llama3, .bareJSON:
            return objects.map(\.jsonText).joined(separator: "\n")
        }
    }

    /// The system-message text that offers `tools` and says how to call them.
    func instructions(for tools: [ToolDefinition]) -> String {
        let list = tools.map(\.openAIJSON.jsonText).joined(separator: "\n")
        let example: String
        switch self {
        case .hermes:
            example =
                "To call a tool, answer with one block per call, and nothing else:\n\(Self.openTag)\n{\"name\": \"tool name\", \"arguments\": {...}}\n\(Self.closeTag)"
        case .smolLM2:
            example =
                "To call tools, answer with their calls as a JSON list inside the tags, and nothing else:\n\(Self.openTag)[{\"name\": \"tool name\", \"arguments\": {...}}]\(Self.closeTag)"
        case .mistral:
            example =
                "To call tools, answer with \(Self.mistralMarker) and a JSON list of calls, and nothing else:\n\(Self.mistralMarker)[{\"name\": \"tool name\", \"arguments\": {...}}]"
        case .llama3:
            example = "To call a tool, answer with only this JSON object:\n{\"name\": \"tool name\", \"parameters\": {...}}"
        case .bareJSON:
            example = "To call a tool, answer with only this JSON object:\n{\"name\": \"tool name\", \"arguments\": {...}}"
        }
        return """
            You can call these tools (JSON Schema of each tool's arguments):
            <tools>
            \(list)
            </tools>
            \(example)
            """
    }

    /// The GBNF body for up to `1 + more` calls in this family's shape, where `call` is the
    /// rule of one call object. A bare object (what small models write anyway) is always
    /// accepted too, and with `fenced` (the lazy grammar, which a ```json block wakes as well
    /// as the tag) calls in Markdown JSON blocks.
    func callsGrammar(call: String, more: Int, fenced: Bool = false) -> String {
        let open = JSONSchemaGrammar.literal(Self.openTag)
        let close = JSONSchemaGrammar.literal(Self.closeTag)
        func repeated(_ item: String, separator: String) -> String {
            more == 0 ? item : "\(item) (\(separator) \(item)){0,\(more)}"
        }
        let list = "\"[\" ws \(repeated(call, separator: "ws \",\" ws")) ws \"]\""
        let bare = repeated(call, separator: "ws")
        let shapes =
            switch self {
            case .hermes: "\(repeated("\(open) ws \(call) ws \(close)", separator: "ws")) | \(bare)"
            case .smolLM2: "\(open) ws \(list) ws \(close) | \(repeated("\(open) ws \(call) ws \(close)", separator: "ws")) | \(bare)"
            case .mistral: "\(list) | \(bare)"
            case .llama3, .bareJSON: bare
            }
        guard fenced else { return shapes }
        // Blocks with words between them (one call each, as models that explain write them)
        // and after them; words without a backtick or a tag, so no other block or call
        // opens unconstrained.
        let fence = "\(JSONSchemaGrammar.literal(Self.fenceOpen)) ws (\(list) | \(bare)) ws \(JSONSchemaGrammar.literal(Self.fenceClose))"
        let words = "[^`<\\x00]*"
        let blocks = more == 0 ? "\(fence) \(words)" : "\(fence) (\(words) \(fence)){0,\(more)} \(words)"
        return "\(shapes) | \(blocks)"
    }
}
