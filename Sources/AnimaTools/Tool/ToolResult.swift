import AnimaCore

/// What a tool returns: text for the model to read, a typed value for programs, and
/// whether it is an error the agent should react to.
public struct ToolResult: Sendable, Hashable {
    public var text: String
    /// The structured result (for example `{"value": "42", "exact": true}`); null for none.
    public var value: JSONValue
    public var isError: Bool

    public init(text: String, value: JSONValue = .null, isError: Bool = false) {
        self.text = text
        self.value = value
        self.isError = isError
    }

    /// An error result with a message that says what was wrong and what to do.
    public static func failure(_ message: String) -> ToolResult {
        ToolResult(text: "error: \(message)", value: ["error": .string(message)], isError: true)
    }
}
