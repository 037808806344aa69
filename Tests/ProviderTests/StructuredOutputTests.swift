import AnimaCore
import Foundation
import Testing

@testable import AnimaProcessor
@testable import AnimaProviders

/// How each provider asks for a JSON answer, as its documentation spells the request:
/// OpenAI's `response_format` (platform.openai.com/docs/guides/structured-outputs),
/// Gemini's `generationConfig.responseMimeType` and `responseJsonSchema`
/// (ai.google.dev/gemini-api/docs/structured-output), Ollama's `format`
/// (github.com/ollama/ollama/blob/main/docs/api.md). Anthropic's forced tool is
/// replayed end to end in `AnthropicProviderTests`.
@Suite("Structured output requests")
struct StructuredOutputTests {
    static let schema = try! JSONSchema(parsing: #"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#)

    static func request(_ format: ResponseFormat) -> GenerationRequest {
        GenerationRequest(messages: [.user("Name a city.")], responseFormat: format, sampling: .greedy(maxTokens: 32))
    }

    @Test func openAI() throws {
        let provider = try OpenAIProvider(
            endpoint: ProviderEndpoint(id: "openai", kind: .openAI), model: "gpt-4o-mini",
            credential: Replay.credential("openai", "OPENAI_KEY"))
        let schema = try provider.body(for: Self.request(.jsonSchema(Self.schema)), stream: false)
        #expect(schema["response_format"] == ["type": "json_schema", "json_schema": ["name": "response", "schema": Self.schema.json]])
        let object = try provider.body(for: Self.request(.jsonObject), stream: false)
        #expect(object["response_format"] == ["type": "json_object"])
        #expect(try provider.body(for: Self.request(.text), stream: false)["response_format"] == nil)
    }

    @Test func gemini() throws {
        let provider = try GeminiProvider(
            endpoint: ProviderEndpoint(id: "gemini", kind: .gemini), model: "gemini-2.5-flash",
            credential: Replay.credential("gemini", "GEMINI_KEY"))
        let config = try provider.body(for: Self.request(.jsonSchema(Self.schema)))["generationConfig"]
        #expect(config?["responseMimeType"] == "application/json")
        #expect(config?["responseJsonSchema"] == Self.schema.json)
        let object = try provider.body(for: Self.request(.jsonObject))["generationConfig"]
        #expect(object?["responseMimeType"] == "application/json" && object?["responseJsonSchema"] == nil)
    }

    @Test func ollama() throws {
        let provider = try OllamaProvider(endpoint: ProviderEndpoint(id: "ollama", kind: .ollama), model: "llama3.2")
        #expect(try provider.body(for: Self.request(.jsonSchema(Self.schema)), stream: false)["format"] == Self.schema.json)
        #expect(try provider.body(for: Self.request(.jsonObject), stream: false)["format"] == "json")
    }

    /// Anthropic carries the answer in a forced tool, which cannot be combined with the
    /// request's own tools; that is said, not silently dropped.
    @Test func anthropicRefusesAJSONAnswerWithTools() throws {
        let provider = try AnthropicProvider(
            endpoint: ProviderEndpoint(id: "anthropic", kind: .anthropic), model: "claude-haiku-4-5",
            credential: Replay.credential("anthropic", "ANTHROPIC_KEY"))
        var request = Self.request(.jsonSchema(Self.schema))
        request.tools = [Replay.weatherTool]
        #expect(throws: ProviderError.unsupported(provider: "anthropic", feature: "a JSON answer together with tools in one request")) {
            _ = try provider.body(for: request, stream: false)
        }
    }
}
