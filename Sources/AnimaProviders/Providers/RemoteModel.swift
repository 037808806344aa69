import AnimaCore
import AnimaProcessor

/// A model served by an endpoint, as `anima setup` configures it. Fields left out are
/// taken from `ModelCatalog`, then from conservative defaults.
public struct RemoteModel: Sendable, Hashable, Codable {
    /// The model's name in the provider's API (for example `gpt-4o-mini`).
    public var name: String
    public var contextLength: Int?
    public var price: ModelPrice?
    public var tools: Bool?
    public var vision: Bool?

    public init(name: String, contextLength: Int? = nil, price: ModelPrice? = nil, tools: Bool? = nil, vision: Bool? = nil) {
        self.name = name
        self.contextLength = contextLength
        self.price = price
        self.tools = tools
        self.vision = vision
    }

    /// What the model can do, from the configuration, else the catalog, else defaults.
    public func capabilities(kind: ProviderKind) -> ModelCapabilities {
        let known = ModelCatalog.entry(kind: kind, model: name)
        return ModelCapabilities(
            contextLength: contextLength ?? known?.capabilities.contextLength ?? ModelCatalog.defaultContextLength,
            tools: tools ?? known?.capabilities.tools ?? true,
            vision: vision ?? known?.capabilities.vision ?? false,
            structuredOutput: known?.capabilities.structuredOutput ?? true)
    }

    /// What the model charges, or nil when it is not known (a cloud model missing from
    /// the catalog). Servers the user runs are free.
    public func resolvedPrice(kind: ProviderKind) -> ModelPrice? {
        if let price { return price }
        if let known = ModelCatalog.entry(kind: kind, model: name) { return known.price }
        return kind.requiresCredential ? nil : .free
    }
}
