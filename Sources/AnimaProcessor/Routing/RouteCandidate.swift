import AnimaCore

/// A processor the router may choose, with what the router needs to know about it.
public struct RouteCandidate: Sendable {
    /// A unique name, used in decisions and in the learned-quality table
    /// (`local/SmolLM2-135M-Instruct`, `openai/gpt-4o-mini`).
    public var id: String
    public var processor: any LanguageModel
    public var location: ProcessorLocation
    public var capabilities: ModelCapabilities
    /// Nil when unknown; a request under a budget never goes to a model of unknown price.
    public var price: ModelPrice?
    /// The current load, for local engines whose queue the router should spare.
    public var load: (@Sendable () -> ProcessorLoad)?

    public init(
        id: String, processor: any LanguageModel, location: ProcessorLocation, capabilities: ModelCapabilities,
        price: ModelPrice?, load: (@Sendable () -> ProcessorLoad)? = nil
    ) {
        self.id = id
        self.processor = processor
        self.location = location
        self.capabilities = capabilities
        self.price = price
        self.load = load
    }

}
