import AnimaCore
import AnimaProcessor
import Foundation

/// A processor behind OpenAI's Chat Completions API, or any server that speaks it: vLLM,
/// llama.cpp's `llama-server`, LM Studio, Ollama's `/v1`.
///
/// Wire format: https://platform.openai.com/docs/api-reference/chat/create (request,
/// response, streamed chunks, `[DONE]`) and .../chat-streaming; errors as in
/// https://platform.openai.com/docs/guides/error-codes. Answers stream by default, with
/// `stream_options.include_usage` so the last chunk carries token counts. Tool calls
/// arrive as fragments keyed by `index` and are emitted whole. `json_schema` response
/// formats hold the answer to a schema where the server supports it. A refusal (the
/// `refusal` field, or the `content_filter` finish reason) ends the stream with
/// `ProviderError.refused`.
///
/// OpenAI has no endpoint that counts tokens, so `countTokens` is unsupported; the router
/// estimates instead.
public final class OpenAIProvider: LanguageModel {
    public let info: ModelInfo
    public let endpoint: ProviderEndpoint
    public let model: String
    let transport: ProviderTransport

    /// - Parameters:
    ///   - endpoint: an endpoint of kind `.openAI` or `.openAICompatible`.
    ///   - model: the model's name in the API.
    ///   - credential: the endpoint's key; required for `.openAI`, optional otherwise.
    ///   - contextLength: default: the configured model's, else the catalog's.
    public init(endpoint: ProviderEndpoint, model: String, credential: ProviderCredential?, contextLength: Int? = nil) throws(ProviderError)
    {
        guard endpoint.kind == .openAI || endpoint.kind == .openAICompatible else {
            throw .invalidConfiguration("\(endpoint.id) is a \(endpoint.kind) endpoint, not an OpenAI-compatible one")
        }
        try ProviderGeneration.checkSetup(endpoint: endpoint, model: model, credential: credential)
        self.endpoint = endpoint
        self.model = model
        let configured = endpoint.models.first { $0.name == model } ?? RemoteModel(name: model)
        info = ModelInfo(
            name: "\(endpoint.id)/\(model)", contextLength: contextLength ?? configured.capabilities(kind: endpoint.kind).contextLength)
        transport = ProviderTransport(endpoint: endpoint, credential: credential, readError: Self.readError)
    }

    public func countTokens(_ request: GenerationRequest) async throws -> Int {
        throw ProviderError.unsupported(
            provider: endpoint.id, feature: "exact token counts (the Chat Completions API has no counting endpoint)")
    }

    public func countTokens(text: String) async throws -> Int {
        throw ProviderError.unsupported(
            provider: endpoint.id, feature: "exact token counts (the Chat Completions API has no counting endpoint)")
    }

    public func generate(_ request: GenerationRequest) -> AsyncThrowingStream<GenerationEvent, any Error> {
        let streams = endpoint.streams
        return ProviderGeneration.stream(provider: endpoint.id, location: endpoint.resolvedLocation, request: request) {
            [self] continuation in
            let body = try self.body(for: request, stream: streams)
            let exchange = ProviderTransport.Exchange(path: "/chat/completions", headers: headers, body: body, streaming: streams)
            if streams {
                let response = try await transport.open(exchange, model: model)
                var decoder = OpenAIStreamDecoder(provider: endpoint.id)
                try await transport.forEachEvent(of: response) { event in
                    let (events, done) = try decoder.decode(event)
                    for e in events { continuation.yield(e) }
                    return done
                }
            } else {
                let answer = try await transport.json(exchange, model: model)
                for event in try OpenAIStreamDecoder.decodeWhole(answer, provider: endpoint.id) { continuation.yield(event) }
            }
        }
    }

    private var headers: [(String, String)] {
        guard let credential = transport.credential else { return [] }
        return [("Authorization", "Bearer \(credential.secret)")]
    }

    // MARK: - Request

    /// The JSON body Anima sends for `request`.
    func body(for request: GenerationRequest, stream: Bool) throws -> JSONValue {
        try ProviderGeneration.checkToolChoice(request)
        let compatible = endpoint.kind == .openAICompatible
        var body = JSONObject()
        body["model"] = .string(model)
        body["messages"] = .array(request.messages.map(Self.message))
        body["stream"] = .bool(stream)
        if stream { body["stream_options"] = ["include_usage": true] }
        let sampling = request.sampling
        if let maxTokens = sampling.maxTokens {
            // OpenAI renamed the field; servers that copy the API know the old name.
            body[compatible ? "max_tokens" : "max_completion_tokens"] = .number(Double(maxTokens))
        }
        body["temperature"] = .number(sampling.temperature)
        body["top_p"] = .number(sampling.topP)
        if compatible {
            // llama.cpp's and vLLM's extensions, so a local server samples as the engine does.
            body["top_k"] = .number(Double(sampling.topK))
            body["min_p"] = .number(sampling.minP)
            if sampling.repeatPenalty != 1 { body["repeat_penalty"] = .number(sampling.repeatPenalty) }
            body["seed"] = .number(Double(sampling.seed))
        }
        if !sampling.stop.isEmpty { body["stop"] = .array(sampling.stop.map { .string($0) }) }
        let tools = ProviderGeneration.offeredTools(request)
        if !tools.isEmpty {
            body["tools"] = .array(tools.map(\.openAIJSON))
            switch request.toolChoice {
            case .auto, .none: body["tool_choice"] = "auto"
            case .required: body["tool_choice"] = "required"
            case .function(let name): body["tool_choice"] = ["type": "function", "function": ["name": .string(name)]]
            }
        }
        switch request.responseFormat {
        case .text: break
        case .jsonObject: body["response_format"] = ["type": "json_object"]
        case .jsonSchema(let schema):
            body["response_format"] = ["type": "json_schema", "json_schema": ["name": "response", "schema": schema.json]]
        }
        return .object(body)
    }

    static func message(_ message: ChatMessage) -> JSONValue {
        var out = JSONObject()
        out["role"] = .string(message.role.rawValue)
        switch message.role {
        case .assistant where !message.toolCalls.isEmpty:
            out["content"] = message.content.isEmpty ? .null : .string(message.content)
            out["tool_calls"] = .array(
                message.toolCalls.map { call in
                    [
                        "id": .string(call.id), "type": "function",
                        "function": ["name": .string(call.name), "arguments": .string(call.arguments.jsonText)],
                    ]
                })
        case .tool:
            out["tool_call_id"] = .string(message.toolCallID ?? "")
            out["content"] = .string(message.content)
        default:
            out["content"] = .string(message.content)
        }
        return .object(out)
    }

    // MARK: - Errors

    /// `{"error": {"message", "type", "param", "code"}}`; some compatible servers send
    /// `{"error": "text"}` or `{"detail": ...}` instead.
    static let readError: ProviderTransport.ErrorReader = { _, body in
        let error = body?["error"]
        let message =
            error?["message"]?.stringValue ?? error?.stringValue ?? body?["detail"]?.stringValue ?? body?["message"]?.stringValue ?? ""
        let code = error?["code"]?.stringValue ?? error?["type"]?.stringValue
        switch code {
        case "invalid_api_key"?, "authentication_error"?: return .init(message: message, kind: .credential)
        case "model_not_found"?: return .init(message: message, kind: .model)
        case "content_filter"?, "content_policy_violation"?: return .init(message: message, kind: .refusal)
        default: return .init(message: message, kind: nil)
        }
    }
}

/// Turns Chat Completions stream chunks (or one whole completion) into generation events.
struct OpenAIStreamDecoder {
    let provider: String
    private var calls: [Int: (id: String, name: String, arguments: String)] = [:]
    private var callsEmitted = false
    private var finish: String?
    private var usage: Usage?
    private var refusal = ""

    init(provider: String) { self.provider = provider }

    /// Decodes one event; returns what it produced and whether the stream is complete.
    mutating func decode(_ event: ServerSentEvent) throws -> ([GenerationEvent], Bool) {
        let data = event.data.trimmingCharacters(in: .whitespaces)
        if data == "[DONE]" { return (try end(), true) }
        let chunk: JSONValue
        do { chunk = try JSONValue(parsing: data) } catch {
            throw ProviderError.malformedResponse(provider: provider, reason: "a stream chunk is not JSON (\(error))")
        }
        if let error = chunk["error"] {
            throw ProviderError.streamFailure(provider: provider, detail: error["message"]?.stringValue ?? error.jsonText)
        }
        var events: [GenerationEvent] = []
        if case .object(let u)? = chunk["usage"] { usage = Self.usage(u) }
        for choice in chunk["choices"]?.arrayValue ?? [] where (choice["index"]?.numberValue ?? 0) == 0 {
            if let delta = choice["delta"] {
                if let text = delta["content"]?.stringValue, !text.isEmpty { events.append(.text(text)) }
                if let text = delta["refusal"]?.stringValue { refusal += text }
                for fragment in delta["tool_calls"]?.arrayValue ?? [] {
                    let index = WireNumber.clamped(fragment["index"]?.numberValue ?? Double(calls.count), to: 0...Int(Int32.max))
                    var call = calls[index] ?? (id: "", name: "", arguments: "")
                    if let id = fragment["id"]?.stringValue, !id.isEmpty { call.id = id }
                    if let name = fragment["function"]?["name"]?.stringValue { call.name += name }
                    if let arguments = fragment["function"]?["arguments"]?.stringValue { call.arguments += arguments }
                    calls[index] = call
                }
            }
            if let reason = choice["finish_reason"]?.stringValue {
                finish = reason
                events += try emitCalls()
            }
        }
        return (events, false)
    }

    /// What remains at the end of the stream: tool calls not yet sent, usage, finish.
    mutating func end() throws -> [GenerationEvent] {
        var events = try emitCalls()
        if !refusal.isEmpty { throw ProviderError.refused(provider: provider, reason: refusal) }
        if finish == "content_filter" {
            throw ProviderError.refused(provider: provider, reason: "the provider's content filter stopped the answer")
        }
        events.append(.usage(usage ?? Usage(promptTokens: 0, completionTokens: 0)))
        events.append(.finished(Self.finishReason(finish, calledTools: !calls.isEmpty)))
        return events
    }

    private mutating func emitCalls() throws -> [GenerationEvent] {
        guard !callsEmitted, !calls.isEmpty else { return [] }
        callsEmitted = true
        return try calls.keys.sorted().map { index in
            let call = calls[index]!
            guard !call.name.isEmpty else {
                throw ProviderError.malformedResponse(provider: provider, reason: "tool call \(index) has no function name")
            }
            let arguments = try ProviderGeneration.arguments(call.arguments, tool: call.name, provider: provider)
            return .toolCall(ToolCall(id: call.id.isEmpty ? "call_\(index)" : call.id, name: call.name, arguments: arguments))
        }
    }

    static func usage(_ object: JSONObject) -> Usage {
        Usage(
            promptTokens: WireNumber.clamped(object["prompt_tokens"]?.numberValue ?? 0, to: 0...Int(1e15)),
            completionTokens: WireNumber.clamped(object["completion_tokens"]?.numberValue ?? 0, to: 0...Int(1e15)))
    }

    static func finishReason(_ reason: String?, calledTools: Bool) -> FinishReason {
        switch reason {
        case "length"?: .length
        case "tool_calls"?, "function_call"?: .toolCalls
        case "stop"?: calledTools ? .toolCalls : .stop
        default: calledTools ? .toolCalls : .stop
        }
    }

    /// A whole (non-streamed) completion as events.
    static func decodeWhole(_ completion: JSONValue, provider: String) throws -> [GenerationEvent] {
        guard let choice = completion["choices"]?.arrayValue?.first, let message = choice["message"] else {
            throw ProviderError.malformedResponse(provider: provider, reason: "the completion has no choices[0].message")
        }
        var decoder = OpenAIStreamDecoder(provider: provider)
        var events: [GenerationEvent] = []
        if let text = message["content"]?.stringValue, !text.isEmpty { events.append(.text(text)) }
        if let refusal = message["refusal"]?.stringValue { decoder.refusal = refusal }
        for (index, call) in (message["tool_calls"]?.arrayValue ?? []).enumerated() {
            decoder.calls[index] = (
                id: call["id"]?.stringValue ?? "", name: call["function"]?["name"]?.stringValue ?? "",
                arguments: call["function"]?["arguments"]?.stringValue ?? ""
            )
        }
        decoder.finish = choice["finish_reason"]?.stringValue
        if case .object(let u)? = completion["usage"] { decoder.usage = usage(u) }
        return events + (try decoder.end())
    }
}
