import AnimaCore
import AnimaProcessor
import Foundation

/// A processor behind Google's Gemini API.
///
/// Wire format: https://ai.google.dev/api/generate-content (`generateContent`,
/// `streamGenerateContent?alt=sse`, `GenerateContentResponse`, `FinishReason`,
/// `usageMetadata`), https://ai.google.dev/gemini-api/docs/function-calling
/// (`functionDeclarations`, `functionCall`, `functionResponse`, `toolConfig`),
/// https://ai.google.dev/api/tokens (`countTokens`) and
/// https://ai.google.dev/gemini-api/docs/troubleshooting (errors).
///
/// The key goes in the `x-goog-api-key` header, never in the URL. Assistant turns have
/// the role `model`; system messages become `systemInstruction`. Tool arguments and JSON
/// answers use the JSON Schema fields (`parametersJsonSchema`, `responseJsonSchema`).
/// A tool result is sent as `{"output": ...}`, the key the API documents. A safety,
/// recitation or blocklist stop, or a blocked prompt, ends the stream with
/// `ProviderError.refused`. The stream has no end marker: it is complete when a chunk
/// carries a finish reason and the body then ends.
public final class GeminiProvider: LanguageModel {
    public let info: ModelInfo
    public let endpoint: ProviderEndpoint
    public let model: String
    let transport: ProviderTransport

    public init(endpoint: ProviderEndpoint, model: String, credential: ProviderCredential?, contextLength: Int? = nil) throws(ProviderError)
    {
        guard endpoint.kind == .gemini else {
            throw .invalidConfiguration("\(endpoint.id) is a \(endpoint.kind) endpoint, not a Gemini one")
        }
        try ProviderGeneration.checkSetup(endpoint: endpoint, model: model, credential: credential)
        self.endpoint = endpoint
        self.model = model.hasPrefix("models/") ? String(model.dropFirst("models/".count)) : model
        let configured = endpoint.models.first { $0.name == model } ?? RemoteModel(name: self.model)
        info = ModelInfo(
            name: "\(endpoint.id)/\(self.model)", contextLength: contextLength ?? configured.capabilities(kind: .gemini).contextLength)
        transport = ProviderTransport(endpoint: endpoint, credential: credential, readError: Self.readError)
    }

    private var headers: [(String, String)] {
        guard let credential = transport.credential else { return [] }
        return [("x-goog-api-key", credential.secret)]
    }

    private var modelPath: String {
        "/models/"
            + (model.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: ":/"))) ?? model)
    }

    public func countTokens(_ request: GenerationRequest) async throws -> Int {
        if endpoint.resolvedLocation == .remote, request.privacy.isPrivate {
            throw ProviderError.privateDataRefused(provider: endpoint.id)
        }
        var inner = try body(for: request).objectValue ?? JSONObject()
        inner["generationConfig"] = nil
        inner["model"] = .string("models/\(model)")
        return try await count(["generateContentRequest": .object(inner)])
    }

    public func countTokens(text: String) async throws -> Int {
        try await count(["contents": [["parts": [["text": .string(text)]]]]])
    }

    private func count(_ body: JSONValue) async throws -> Int {
        let answer = try await transport.json(.init(path: modelPath + ":countTokens", headers: headers, body: body), model: model)
        guard let total = answer["totalTokens"]?.numberValue else {
            throw ProviderError.malformedResponse(provider: endpoint.id, reason: "the token count has no totalTokens")
        }
        return WireNumber.clamped(total, to: 0...Int(1e15))
    }

    public func generate(_ request: GenerationRequest) -> AsyncThrowingStream<GenerationEvent, any Error> {
        let streams = endpoint.streams
        return ProviderGeneration.stream(provider: endpoint.id, location: endpoint.resolvedLocation, request: request) {
            [self] continuation in
            let body = try self.body(for: request)
            var decoder = GeminiStreamDecoder(provider: endpoint.id)
            if streams {
                let exchange = ProviderTransport.Exchange(
                    path: modelPath + ":streamGenerateContent?alt=sse", headers: headers, body: body, streaming: true)
                let response = try await transport.open(exchange, model: model)
                try await transport.forEachEvent(of: response, readsToEnd: true) { event in
                    let events = try decoder.decode(event.data)
                    for e in events { continuation.yield(e) }
                    return decoder.isComplete
                }
            } else {
                let exchange = ProviderTransport.Exchange(path: modelPath + ":generateContent", headers: headers, body: body)
                let answer = try await transport.json(exchange, model: model)
                for event in try decoder.decode(chunk: answer) { continuation.yield(event) }
                guard decoder.isComplete else {
                    throw ProviderError.malformedResponse(provider: endpoint.id, reason: "the answer has no finishReason")
                }
            }
            for event in try decoder.end() { continuation.yield(event) }
        }
    }

    // MARK: - Request

    func body(for request: GenerationRequest) throws -> JSONValue {
        try ProviderGeneration.checkToolChoice(request)
        var body = JSONObject()
        body["contents"] = .array(Self.contents(request.messages))
        let system = request.messages.filter { $0.role == .system }.map(\.content).joined(separator: "\n\n")
        if !system.isEmpty { body["systemInstruction"] = ["parts": [["text": .string(system)]]] }
        let tools = ProviderGeneration.offeredTools(request)
        if !tools.isEmpty {
            body["tools"] = [
                [
                    "functionDeclarations": .array(
                        tools.map {
                            ["name": .string($0.name), "description": .string($0.description), "parametersJsonSchema": $0.parameters.json]
                        })
                ]
            ]
            var config: JSONObject = ["mode": "AUTO"]
            switch request.toolChoice {
            case .auto, .none: break
            case .required: config["mode"] = "ANY"
            case .function(let name):
                config["mode"] = "ANY"
                config["allowedFunctionNames"] = [.string(name)]
            }
            body["toolConfig"] = ["functionCallingConfig": .object(config)]
        }
        let sampling = request.sampling
        var generation = JSONObject()
        generation["temperature"] = .number(sampling.temperature)
        generation["topP"] = .number(sampling.topP)
        if sampling.topK > 0 { generation["topK"] = .number(Double(sampling.topK)) }
        if let maxTokens = sampling.maxTokens { generation["maxOutputTokens"] = .number(Double(maxTokens)) }
        if !sampling.stop.isEmpty { generation["stopSequences"] = .array(sampling.stop.map { .string($0) }) }
        generation["seed"] = .number(Double(sampling.seed))
        switch request.responseFormat {
        case .text: break
        case .jsonObject: generation["responseMimeType"] = "application/json"
        case .jsonSchema(let schema):
            generation["responseMimeType"] = "application/json"
            generation["responseJsonSchema"] = schema.json
        }
        body["generationConfig"] = .object(generation)
        return .object(body)
    }

    static func contents(_ messages: [ChatMessage]) -> [JSONValue] {
        var turns: [(role: String, parts: [JSONValue])] = []
        func append(_ role: String, _ parts: [JSONValue]) {
            if let last = turns.last, last.role == role {
                turns[turns.count - 1].parts += parts
            } else {
                turns.append((role, parts))
            }
        }
        for message in messages {
            switch message.role {
            case .system:
                continue
            case .user:
                append("user", [["text": .string(message.content)]])
            case .assistant:
                var parts: [JSONValue] = []
                if !message.content.isEmpty { parts.append(["text": .string(message.content)]) }
                for call in message.toolCalls { parts.append(["functionCall": ["name": .string(call.name), "args": call.arguments]]) }
                if !parts.isEmpty { append("model", parts) }
            case .tool:
                let name = ProviderGeneration.toolName(forCall: message.toolCallID, in: messages) ?? ""
                let output = (try? JSONValue(parsing: message.content)) ?? .string(message.content)
                append("user", [["functionResponse": ["name": .string(name), "response": ["output": output]]]])
            }
        }
        return turns.map { ["role": .string($0.role), "parts": .array($0.parts)] }
    }

    // MARK: - Errors

    /// `{"error": {"code", "message", "status", "details": [{"reason": ...}]}}`.
    static let readError: ProviderTransport.ErrorReader = { _, body in
        let error = body?["error"]
        let message = error?["message"]?.stringValue ?? ""
        let reasons = (error?["details"]?.arrayValue ?? []).compactMap { $0["reason"]?.stringValue }
        switch error?["status"]?.stringValue {
        case _ where reasons.contains("API_KEY_INVALID"): return .init(message: message, kind: .credential)
        case "UNAUTHENTICATED"?, "PERMISSION_DENIED"?: return .init(message: message, kind: .credential)
        case "NOT_FOUND"?: return .init(message: message, kind: .model)
        default: return .init(message: message, kind: nil)
        }
    }
}

/// Turns `GenerateContentResponse` chunks into generation events.
struct GeminiStreamDecoder {
    let provider: String
    private(set) var isComplete = false
    private var finishReason: String?
    private var usage = Usage(promptTokens: 0, completionTokens: 0)
    private var calls = 0

    init(provider: String) { self.provider = provider }

    mutating func decode(_ data: String) throws -> [GenerationEvent] {
        let chunk: JSONValue
        do { chunk = try JSONValue(parsing: data) } catch {
            throw ProviderError.malformedResponse(provider: provider, reason: "a stream chunk is not JSON (\(error))")
        }
        return try decode(chunk: chunk)
    }

    mutating func decode(chunk: JSONValue) throws -> [GenerationEvent] {
        if let error = chunk["error"] {
            throw ProviderError.streamFailure(
                provider: provider,
                detail: [error["status"]?.stringValue, error["message"]?.stringValue].compactMap { $0 }.joined(separator: ": "))
        }
        if let blocked = chunk["promptFeedback"]?["blockReason"]?.stringValue {
            throw ProviderError.refused(provider: provider, reason: "the prompt was blocked (\(blocked))")
        }
        if let metadata = chunk["usageMetadata"] {
            usage = Usage(
                promptTokens: WireNumber.clamped(metadata["promptTokenCount"]?.numberValue ?? 0, to: 0...Int(1e15)),
                completionTokens: WireNumber.clamped(
                    (metadata["candidatesTokenCount"]?.numberValue ?? 0) + (metadata["thoughtsTokenCount"]?.numberValue ?? 0),
                    to: 0...Int(1e15)))
        }
        var events: [GenerationEvent] = []
        guard let candidate = chunk["candidates"]?.arrayValue?.first else { return events }
        for part in candidate["content"]?["parts"]?.arrayValue ?? [] {
            if part["thought"]?.boolValue == true { continue }  // thought summaries are not the answer
            if let text = part["text"]?.stringValue, !text.isEmpty { events.append(.text(text)) }
            if let call = part["functionCall"] {
                guard let name = call["name"]?.stringValue, !name.isEmpty else {
                    throw ProviderError.malformedResponse(provider: provider, reason: "a functionCall has no name")
                }
                let id = call["id"]?.stringValue ?? "call_\(calls)"
                calls += 1
                events.append(.toolCall(ToolCall(id: id, name: name, arguments: call["args"] ?? .object(JSONObject()))))
            }
        }
        if let reason = candidate["finishReason"]?.stringValue {
            finishReason = reason
            isComplete = true
        }
        return events
    }

    func end() throws -> [GenerationEvent] {
        let reason: FinishReason
        switch finishReason {
        case "MAX_TOKENS"?:
            reason = .length
        case "SAFETY"?, "RECITATION"?, "BLOCKLIST"?, "PROHIBITED_CONTENT"?, "SPII"?, "IMAGE_SAFETY"?:
            throw ProviderError.refused(provider: provider, reason: "the answer was stopped (\(finishReason!))")
        case "MALFORMED_FUNCTION_CALL"?:
            throw ProviderError.streamFailure(provider: provider, detail: "the model wrote a malformed function call")
        default:
            reason = calls > 0 ? .toolCalls : .stop
        }
        return [.usage(usage), .finished(reason)]
    }
}
