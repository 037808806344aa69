import AnimaCore
import AnimaProcessor
import Foundation

/// A processor behind Ollama's native API (`/api/chat`).
///
/// Wire format: https://github.com/ollama/ollama/blob/main/docs/api.md ("Generate a chat
/// completion": request, the stream of JSON objects, the final object with `done`,
/// `done_reason`, `prompt_eval_count` and `eval_count`; tool calls with arguments as
/// objects; `format` as `"json"` or a JSON Schema) and https://docs.ollama.com/api/errors
/// (`{"error": "..."}`, also as a line in the middle of a stream).
///
/// Sampling parameters go in `options` with Ollama's names; the configured context
/// length goes in `num_ctx`, because Ollama otherwise cuts prompts to its own default
/// without saying so. Ollama has no `tool_choice`, so a request that requires a tool call
/// is refused rather than sent without the requirement. Ollama's OpenAI-compatible `/v1`
/// is served by `OpenAIProvider` with an `.openAICompatible` endpoint.
public final class OllamaProvider: LanguageModel {
    public let info: ModelInfo
    public let endpoint: ProviderEndpoint
    public let model: String
    let transport: ProviderTransport
    private let configuredContext: Int?

    public init(endpoint: ProviderEndpoint, model: String, credential: ProviderCredential? = nil, contextLength: Int? = nil)
        throws(ProviderError)
    {
        guard endpoint.kind == .ollama else {
            throw .invalidConfiguration("\(endpoint.id) is a \(endpoint.kind) endpoint, not an Ollama one")
        }
        try ProviderGeneration.checkSetup(endpoint: endpoint, model: model, credential: credential)
        self.endpoint = endpoint
        self.model = model
        let configured = endpoint.models.first { $0.name == model }
        configuredContext = contextLength ?? configured?.contextLength
        info = ModelInfo(
            name: "\(endpoint.id)/\(model)",
            contextLength: configuredContext ?? (configured ?? RemoteModel(name: model)).capabilities(kind: .ollama).contextLength)
        transport = ProviderTransport(endpoint: endpoint, credential: credential, readError: Self.readError)
    }

    private var headers: [(String, String)] {
        guard let credential = transport.credential else { return [] }
        return [("Authorization", "Bearer \(credential.secret)")]
    }

    public func countTokens(_ request: GenerationRequest) async throws -> Int {
        throw ProviderError.unsupported(provider: endpoint.id, feature: "exact token counts (Ollama's API has no counting endpoint)")
    }

    public func countTokens(text: String) async throws -> Int {
        throw ProviderError.unsupported(provider: endpoint.id, feature: "exact token counts (Ollama's API has no counting endpoint)")
    }

    public func generate(_ request: GenerationRequest) -> AsyncThrowingStream<GenerationEvent, any Error> {
        let streams = endpoint.streams
        return ProviderGeneration.stream(provider: endpoint.id, location: endpoint.resolvedLocation, request: request) {
            [self] continuation in
            let body = try self.body(for: request, stream: streams)
            let exchange = ProviderTransport.Exchange(path: "/api/chat", headers: headers, body: body)
            var decoder = OllamaStreamDecoder(provider: endpoint.id)
            if streams {
                let response = try await transport.open(exchange, model: model)
                try await transport.forEachLine(of: response) { line in
                    let (events, done) = try decoder.decode(line)
                    for e in events { continuation.yield(e) }
                    return done
                }
            } else {
                let answer = try await transport.json(exchange, model: model)
                let (events, done) = try decoder.decode(answer)
                guard done else {
                    throw ProviderError.malformedResponse(provider: endpoint.id, reason: "the answer does not say \"done\": true")
                }
                for e in events { continuation.yield(e) }
            }
        }
    }

    // MARK: - Request

    func body(for request: GenerationRequest, stream: Bool) throws -> JSONValue {
        try ProviderGeneration.checkToolChoice(request)
        switch request.toolChoice {
        case .required, .function:
            throw ProviderError.unsupported(provider: endpoint.id, feature: "requiring a tool call (Ollama has no tool_choice)")
        case .auto, .none:
            break
        }
        var body = JSONObject()
        body["model"] = .string(model)
        body["messages"] = .array(request.messages.map { Self.message($0, in: request.messages) })
        body["stream"] = .bool(stream)
        let tools = ProviderGeneration.offeredTools(request)
        if !tools.isEmpty { body["tools"] = .array(tools.map(\.openAIJSON)) }
        switch request.responseFormat {
        case .text: break
        case .jsonObject: body["format"] = "json"
        case .jsonSchema(let schema): body["format"] = schema.json
        }
        let sampling = request.sampling
        var options = JSONObject()
        options["temperature"] = .number(sampling.temperature)
        options["top_p"] = .number(sampling.topP)
        options["top_k"] = .number(Double(sampling.topK))
        options["min_p"] = .number(sampling.minP)
        options["repeat_penalty"] = .number(sampling.repeatPenalty)
        options["repeat_last_n"] = .number(Double(sampling.repeatLastN))
        options["seed"] = .number(Double(sampling.seed))
        if let maxTokens = sampling.maxTokens { options["num_predict"] = .number(Double(maxTokens)) }
        if !sampling.stop.isEmpty { options["stop"] = .array(sampling.stop.map { .string($0) }) }
        if let configuredContext { options["num_ctx"] = .number(Double(configuredContext)) }
        body["options"] = .object(options)
        return .object(body)
    }

    static func message(_ message: ChatMessage, in messages: [ChatMessage]) -> JSONValue {
        var out = JSONObject()
        out["role"] = .string(message.role.rawValue)
        out["content"] = .string(message.content)
        if !message.toolCalls.isEmpty {
            out["tool_calls"] = .array(message.toolCalls.map { ["function": ["name": .string($0.name), "arguments": $0.arguments]] })
        }
        if message.role == .tool, let name = ProviderGeneration.toolName(forCall: message.toolCallID, in: messages) {
            out["tool_name"] = .string(name)
        }
        return .object(out)
    }

    // MARK: - Errors

    /// `{"error": "model 'x' not found"}`.
    static let readError: ProviderTransport.ErrorReader = { status, body in
        let message = body?["error"]?.stringValue ?? ""
        if status == 404 || message.contains("not found") { return .init(message: message, kind: .model) }
        return .init(message: message, kind: nil)
    }
}

/// Turns Ollama's stream of chat objects into generation events.
struct OllamaStreamDecoder {
    let provider: String
    private var calls = 0

    init(provider: String) { self.provider = provider }

    mutating func decode(_ line: String) throws -> ([GenerationEvent], Bool) {
        let object: JSONValue
        do { object = try JSONValue(parsing: line) } catch {
            throw ProviderError.malformedResponse(provider: provider, reason: "a line of the stream is not JSON (\(error))")
        }
        return try decode(object)
    }

    mutating func decode(_ object: JSONValue) throws -> ([GenerationEvent], Bool) {
        if let error = object["error"] {
            throw ProviderError.streamFailure(provider: provider, detail: error.text)
        }
        var events: [GenerationEvent] = []
        if let message = object["message"] {
            if let text = message["content"]?.stringValue, !text.isEmpty { events.append(.text(text)) }
            for call in message["tool_calls"]?.arrayValue ?? [] {
                guard let name = call["function"]?["name"]?.stringValue, !name.isEmpty else {
                    throw ProviderError.malformedResponse(provider: provider, reason: "a tool call has no function name")
                }
                var arguments = call["function"]?["arguments"] ?? .object(JSONObject())
                // Some versions send the arguments as a JSON string, as OpenAI does.
                if let text = arguments.stringValue { arguments = try ProviderGeneration.arguments(text, tool: name, provider: provider) }
                let id = call["id"]?.stringValue ?? "call_\(calls)"
                calls += 1
                events.append(.toolCall(ToolCall(id: id, name: name, arguments: arguments)))
            }
        }
        guard object["done"]?.boolValue == true else { return (events, false) }
        events.append(
            .usage(
                Usage(
                    promptTokens: WireNumber.clamped(object["prompt_eval_count"]?.numberValue ?? 0, to: 0...Int(1e15)),
                    completionTokens: WireNumber.clamped(object["eval_count"]?.numberValue ?? 0, to: 0...Int(1e15)))))
        let reason: FinishReason = object["done_reason"]?.stringValue == "length" ? .length : (calls > 0 ? .toolCalls : .stop)
        events.append(.finished(reason))
        return (events, true)
    }
}
