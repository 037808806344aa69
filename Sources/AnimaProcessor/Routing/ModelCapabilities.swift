import AnimaCore

/// What a model can do, as the router needs to know it before choosing the model.
public struct ModelCapabilities: Sendable, Hashable, Codable {
    /// The most tokens one generation may hold: prompt plus answer.
    public var contextLength: Int
    /// Whether the model can call tools.
    public var tools: Bool
    /// Whether the model can read images.
    public var vision: Bool
    /// Whether the model can be held to a JSON Schema.
    public var structuredOutput: Bool

    public init(contextLength: Int, tools: Bool = true, vision: Bool = false, structuredOutput: Bool = true) {
        self.contextLength = contextLength
        self.tools = tools
        self.vision = vision
        self.structuredOutput = structuredOutput
    }
}
