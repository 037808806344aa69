import AnimaCore
import AnimaProcessor

/// Which wire protocol an endpoint speaks.
public enum ProviderKind: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// OpenAI's Chat Completions API at api.openai.com.
    case openAI = "openai"
    /// Any server with OpenAI's Chat Completions API: vLLM, llama.cpp's `llama-server`,
    /// LM Studio, Ollama's `/v1`.
    case openAICompatible = "openai-compatible"
    /// Anthropic's Messages API.
    case anthropic
    /// Google's Gemini API (`generateContent`).
    case gemini
    /// Ollama's native API (`/api/chat`).
    case ollama

    public var description: String { rawValue }

    /// Where the provider usually lives.
    public var defaultBaseURL: String {
        switch self {
        case .openAI: "https://api.openai.com/v1"
        case .openAICompatible: "http://127.0.0.1:8080/v1"
        case .anthropic: "https://api.anthropic.com/v1"
        case .gemini: "https://generativelanguage.googleapis.com/v1beta"
        case .ollama: "http://127.0.0.1:11434"
        }
    }

    /// The environment variable the provider's own tools read the key from.
    public var defaultCredentialVariable: String? {
        switch self {
        case .openAI: "OPENAI_API_KEY"
        case .anthropic: "ANTHROPIC_API_KEY"
        case .gemini: "GEMINI_API_KEY"
        case .openAICompatible, .ollama: nil
        }
    }

    /// Whether requests need an API key (servers the user runs usually do not).
    public var requiresCredential: Bool {
        switch self {
        case .openAI, .anthropic, .gemini: true
        case .openAICompatible, .ollama: false
        }
    }

    /// A model to suggest in `anima setup`.
    public var suggestedModel: String {
        switch self {
        case .openAI: "gpt-4o-mini"
        case .openAICompatible: "default"
        case .anthropic: "claude-haiku-4-5"
        case .gemini: "gemini-2.5-flash"
        case .ollama: "llama3.2"
        }
    }
}
