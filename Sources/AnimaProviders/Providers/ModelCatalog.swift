import AnimaCore
import AnimaProcessor

/// Context lengths and prices of well-known cloud models, so that `anima setup` needs
/// only a model's name. Prices are US dollars per million tokens as the providers
/// published them in 2025 (openai.com/api/pricing, anthropic.com/pricing,
/// ai.google.dev/gemini-api/docs/pricing); they change, so a price set in the
/// configuration always wins. Gemini 2.5 Pro's price is its rate for prompts up to
/// 200k tokens.
public enum ModelCatalog {
    public struct Entry: Sendable, Hashable {
        public var kind: ProviderKind
        public var model: String
        public var capabilities: ModelCapabilities
        public var price: ModelPrice
    }

    /// The context assumed for a model the catalog does not know.
    public static let defaultContextLength = 8192

    public static let entries: [Entry] = [
        entry(.openAI, "gpt-4o-mini", 128_000, 0.15, 0.60),
        entry(.openAI, "gpt-4o", 128_000, 2.50, 10.00),
        entry(.openAI, "gpt-4.1", 1_047_576, 2.00, 8.00),
        entry(.openAI, "gpt-4.1-mini", 1_047_576, 0.40, 1.60),
        entry(.openAI, "gpt-4.1-nano", 1_047_576, 0.10, 0.40),
        entry(.anthropic, "claude-opus-4-1", 200_000, 15.00, 75.00),
        entry(.anthropic, "claude-sonnet-4-5", 200_000, 3.00, 15.00),
        entry(.anthropic, "claude-sonnet-4", 200_000, 3.00, 15.00),
        entry(.anthropic, "claude-haiku-4-5", 200_000, 1.00, 5.00),
        entry(.anthropic, "claude-3-5-haiku", 200_000, 0.80, 4.00),
        entry(.gemini, "gemini-2.5-pro", 1_048_576, 1.25, 10.00),
        entry(.gemini, "gemini-2.5-flash", 1_048_576, 0.30, 2.50),
        entry(.gemini, "gemini-2.5-flash-lite", 1_048_576, 0.10, 0.40),
        entry(.gemini, "gemini-2.0-flash", 1_048_576, 0.10, 0.40),
    ]

    /// The entry for `model`, matching dated names (`gpt-4o-mini-2024-07-18`) to their
    /// family by the longest known prefix.
    public static func entry(kind: ProviderKind, model: String) -> Entry? {
        entries
            .filter { $0.kind == kind && (model == $0.model || model.hasPrefix($0.model + "-")) }
            .max { $0.model.count < $1.model.count }
    }

    private static func entry(_ kind: ProviderKind, _ model: String, _ context: Int, _ input: Double, _ output: Double) -> Entry {
        Entry(
            kind: kind, model: model,
            capabilities: ModelCapabilities(contextLength: context, tools: true, vision: true, structuredOutput: true),
            price: ModelPrice(inputPerMillion: input, outputPerMillion: output))
    }
}
