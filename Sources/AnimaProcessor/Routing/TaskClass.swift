import AnimaCore

/// A kind of work, for which the router learns which model does best (`code-review`,
/// `summary`, ...). Callers name it; otherwise the router derives one from the request's
/// shape.
public struct TaskClass: Sendable, Hashable, Codable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var name: String

    public init(_ name: String) { self.name = name }
    public init(stringLiteral value: String) { name = value }

    public var description: String { name }

    /// A class from the shape of the request: tool use, structured output, a long
    /// prompt, or plain chat.
    public static func of(_ request: GenerationRequest, estimatedPromptTokens: Int) -> TaskClass {
        if request.toolChoice != .none, !request.tools.isEmpty { return "tools" }
        switch request.responseFormat {
        case .jsonObject, .jsonSchema: return "structured"
        case .text: break
        }
        return estimatedPromptTokens > 2000 ? "long-context" : "chat"
    }
}
