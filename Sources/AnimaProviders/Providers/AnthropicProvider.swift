import AnimaCore
import AnimaProcessor
import Foundation

/// A processor behind Anthropic's Messages API.
///
/// Wire format: https://docs.anthropic.com/en/api/messages (request and response),
/// https://docs.anthropic.com/en/docs/build-with-claude/streaming (the event stream:
/// `message_start`, `content_block_start/delta/stop`, `message_delta`, `message_stop`,
/// `ping`, `error`), https://docs.anthropic.com/en/docs/agents-and-tools/tool-use
/// (`tool_use` and `tool_result` blocks), https://docs.anthropic.com/en/api/errors.
///
/// System messages become the top-level `system` text; tool results become `tool_result`
/// blocks of a user turn, consecutive ones merged into one turn as the API asks. Only
/// `temperature` is sent of the sampling parameters, because newer Claude models refuse
/// `temperature` together with `top_p`. A JSON answer (`.jsonObject`, `.jsonSchema`) is
/// asked for the documented way, as a forced call to one tool whose input schema is the
/// answer's, and comes back as text; combining it with other tools is unsupported. A
/// `refusal` stop reason ends the stream with `ProviderError.refused`.
public final class AnthropicProvider: LanguageModel {
    public let info: ModelInfo
    public let endpoint: ProviderEndpoint
    public let model: String
    let transport: ProviderTransport

    /// The API version Anima's requests follow.
    static let apiVersion = "2023-06-01"
    /// The tool that carries a JSON answer.
    static let answerTool = "json_answer"
    /// `max_tokens` is required; used when the request sets none.
    static let defaultMaxTokens = 4096

    public init(endpoint: ProviderEndpoint, model: String, credential: ProviderCredential?, contextLength: Int? = nil) throws(ProviderError)
    {
        guard endpoint.kind == .anthropic else {
            throw .invalidConfiguration("\(endpoint.id) is a \(endpoint.kind) endpoint, not an Anthropic one")
        }
        try ProviderGeneration.checkSetup(endpoint: endpoint, model: model, credential: credential)
        self.endpoint = endpoint
        self.model = model
        let configured = endpoint.models.first { $0.name == model } ?? RemoteModel(name: model)
        info = ModelInfo(
            name: "\(endpoint.id)/\(model)", contextLength: contextLength ?? configured.capabilities(kind: .anthropic).contextLength)
        transport = ProviderTransport(endpoint: endpoint, credential: credential, readError: Self.readError)
    }

    private var headers: [(String, String)] {
        var out = [("anthropic-version", Self.apiVersion)]
        if let credential = transport.credential { out.insert(("x-api-key", credential.secret), at: 0) }
        return out
    }

    /// Counts with the API's token-counting endpoint (/v1/messages/count_tokens).
    public func countTokens(_ request: GenerationRequest) async throws -> Int {
        if endpoint.resolvedLocation == .remote, request.privacy.isPrivate {
            throw ProviderError.privateDataRefused(provider: endpoint.id)
        }
        var body = try self.body(for: request, stream: false).objectValue ?? JSONObject()
        for key in ["max_tokens", "stream", "temperature", "stop_sequences"] { body[key] = nil }
        let answer = try await transport.json(.init(path: "/messages/count_tokens", headers: headers, body: .object(body)), model: model)
        guard let count = answer["input_tokens"]?.numberValue else {
            throw ProviderError.malformedResponse(provider: endpoint.id, reason: "the token count has no input_tokens")
        }
        return WireNumber.clamped(count, to: 0...Int(1e15))
    }

    public func countTokens(text: String) async throws -> Int {
        throw ProviderError.unsupported(provider: endpoint.id, feature: "token counts of plain text (only of whole requests)")
    }

    public func generate(_ request: GenerationRequest) -> AsyncThrowingStream<GenerationEvent, any Error> {
        let streams = endpoint.streams
        return ProviderGeneration.stream(provider: endpoint.id, location: endpoint.resolvedLocation, request: request) {
            [self] continuation in
            let body = try self.body(for: request, stream: streams)
            let exchange = ProviderTransport.Exchange(path: "/messages", headers: headers, body: body, streaming: streams)
            let answersInJSON = Self.answersThroughTool(request)
            if streams {
                let response = try await transport.open(exchange, model: model)
                var decoder = AnthropicStreamDecoder(provider: endpoint.id, answerTool: answersInJSON ? Self.answerTool : nil)
                try await transport.forEachEvent(of: response) { event in
                    let (events, done) = try decoder.decode(event)
                    for e in events { continuation.yield(e) }
                    return done
                }
            } else {
                let answer = try await transport.json(exchange, model: model)
                let events = try AnthropicStreamDecoder.decodeWhole(
                    answer, provider: endpoint.id, answerTool: answersInJSON ? Self.answerTool : nil)
                for event in events { continuation.yield(event) }
            }
        }
    }

    static func answersThroughTool(_ request: GenerationRequest) -> Bool {
        if case .text = request.responseFormat { return false }
        return true
    }

    // MARK: - Request

    func body(for request: GenerationRequest, stream: Bool) throws -> JSONValue {
        try ProviderGeneration.checkToolChoice(request)
        var body = JSONObject()
        body["model"] = .string(model)
        body["max_tokens"] = .number(Double(request.sampling.maxTokens ?? Self.defaultMaxTokens))
        let system = request.messages.filter { $0.role == .system }.map(\.content).joined(separator: "\n\n")
        if !system.isEmpty { body["system"] = .string(system) }
        body["messages"] = .array(Self.turns(request.messages))
        if stream { body["stream"] = true }
        // Anthropic's range is 0...1; Anima's allows more.
        body["temperature"] = .number(min(request.sampling.temperature, 1))
        if !request.sampling.stop.isEmpty { body["stop_sequences"] = .array(request.sampling.stop.map { .string($0) }) }
        let tools = ProviderGeneration.offeredTools(request)
        if Self.answersThroughTool(request) {
            guard tools.isEmpty else {
                throw ProviderError.unsupported(provider: endpoint.id, feature: "a JSON answer together with tools in one request")
            }
            var schema: JSONValue = ["type": "object"]
            if case .jsonSchema(let s) = request.responseFormat { schema = s.json }
            guard schema["type"]?.stringValue == "object" else {
                throw ProviderError.unsupported(provider: endpoint.id, feature: "JSON answers that are not objects")
            }
            body["tools"] = [["name": .string(Self.answerTool), "description": "Give the answer as JSON.", "input_schema": schema]]
            body["tool_choice"] = ["type": "tool", "name": .string(Self.answerTool)]
        } else if !tools.isEmpty {
            body["tools"] = .array(
                tools.map { ["name": .string($0.name), "description": .string($0.description), "input_schema": $0.parameters.json] })
            switch request.toolChoice {
            case .auto, .none: body["tool_choice"] = ["type": "auto"]
            case .required: body["tool_choice"] = ["type": "any"]
            case .function(let name): body["tool_choice"] = ["type": "tool", "name": .string(name)]
            }
        }
        return .object(body)
    }

    /// The conversation as alternating user and assistant turns, tool results in user turns.
    static func turns(_ messages: [ChatMessage]) -> [JSONValue] {
        var turns: [(role: String, blocks: [JSONValue])] = []
        func append(_ role: String, _ blocks: [JSONValue]) {
            if let last = turns.last, last.role == role {
                turns[turns.count - 1].blocks += blocks
            } else {
                turns.append((role, blocks))
            }
        }
        for message in messages {
            switch message.role {
            case .system:
                continue
            case .user:
                append("user", [["type": "text", "text": .string(message.content)]])
            case .tool:
                append(
                    "user",
                    [["type": "tool_result", "tool_use_id": .string(message.toolCallID ?? ""), "content": .string(message.content)]])
            case .assistant:
                var blocks: [JSONValue] = []
                if !message.content.isEmpty { blocks.append(["type": "text", "text": .string(message.content)]) }
                for call in message.toolCalls {
                    blocks.append(["type": "tool_use", "id": .string(call.id), "name": .string(call.name), "input": call.arguments])
                }
                if !blocks.isEmpty { append("assistant", blocks) }
            }
        }
        return turns.map { turn in
            // A turn of one text block is sent in the API's short form, a plain string.
            if turn.blocks.count == 1, turn.blocks[0]["type"] == "text", let text = turn.blocks[0]["text"] {
                return ["role": .string(turn.role), "content": text]
            }
            return ["role": .string(turn.role), "content": .array(turn.blocks)]
        }
    }

    // MARK: - Errors

    /// `{"type": "error", "error": {"type": "authentication_error", "message": ...}}`.
    static let readError: ProviderTransport.ErrorReader = { _, body in
        let error = body?["error"]
        let message = error?["message"]?.stringValue ?? ""
        switch error?["type"]?.stringValue {
        case "authentication_error"?, "permission_error"?: return .init(message: message, kind: .credential)
        case "not_found_error"?: return .init(message: message, kind: .model)
        default: return .init(message: message, kind: nil)
        }
    }
}

/// Turns the Messages API's event stream (or one whole message) into generation events.
struct AnthropicStreamDecoder {
    let provider: String
    /// The tool whose input is the JSON answer, when the request asked for one.
    let answerTool: String?
    private var blocks: [Int: (type: String, id: String, name: String, json: String)] = [:]
    private var inputTokens = 0
    private var outputTokens = 0
    private var stopReason: String?
    private var calledTools = false

    init(provider: String, answerTool: String?) {
        self.provider = provider
        self.answerTool = answerTool
    }

    mutating func decode(_ event: ServerSentEvent) throws -> ([GenerationEvent], Bool) {
        let payload: JSONValue
        do { payload = try JSONValue(parsing: event.data) } catch {
            throw ProviderError.malformedResponse(provider: provider, reason: "a \(event.event) event is not JSON (\(error))")
        }
        let type = payload["type"]?.stringValue ?? event.event
        switch type {
        case "message_start":
            if case .object(let usage)? = payload["message"]?["usage"] { record(usage) }
        case "content_block_start":
            guard let index = payload["index"]?.numberValue, let block = payload["content_block"] else { break }
            blocks[WireNumber.clamped(index, to: 0...Int(Int32.max))] = (
                type: block["type"]?.stringValue ?? "", id: block["id"]?.stringValue ?? "",
                name: block["name"]?.stringValue ?? "", json: ""
            )
            if let text = block["text"]?.stringValue, !text.isEmpty { return ([.text(text)], false) }
        case "content_block_delta":
            guard let index = payload["index"]?.numberValue.map({ WireNumber.clamped($0, to: 0...Int(Int32.max)) }),
                let delta = payload["delta"]
            else { break }
            switch delta["type"]?.stringValue {
            case "text_delta"?:
                if let text = delta["text"]?.stringValue, !text.isEmpty { return ([.text(text)], false) }
            case "input_json_delta"?:
                blocks[index]?.json += delta["partial_json"]?.stringValue ?? ""
            default:
                break  // thinking and signature deltas are not part of the answer
            }
        case "content_block_stop":
            guard let index = payload["index"]?.numberValue.map({ WireNumber.clamped($0, to: 0...Int(Int32.max)) }),
                let block = blocks[index], block.type == "tool_use"
            else { break }
            return ([try emit(block, index: index)], false)
        case "message_delta":
            if let reason = payload["delta"]?["stop_reason"]?.stringValue { stopReason = reason }
            if case .object(let usage)? = payload["usage"] { record(usage) }
        case "message_stop":
            return (try end(), true)
        case "error":
            let error = payload["error"]
            throw ProviderError.streamFailure(
                provider: provider,
                detail: [error?["type"]?.stringValue, error?["message"]?.stringValue].compactMap { $0 }.joined(separator: ": "))
        default:
            break  // ping, and event types added after this was written
        }
        return ([], false)
    }

    private mutating func record(_ usage: JSONObject) {
        // Cached prompt tokens are prompt tokens too; each kind is counted separately.
        let input = ["input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"]
            .compactMap { usage[$0]?.numberValue }.reduce(0, +)
        if usage["input_tokens"] != nil { inputTokens = WireNumber.clamped(input, to: 0...Int(1e15)) }
        if let output = usage["output_tokens"]?.numberValue { outputTokens = WireNumber.clamped(output, to: 0...Int(1e15)) }
    }

    private mutating func emit(_ block: (type: String, id: String, name: String, json: String), index: Int) throws -> GenerationEvent {
        let input = try ProviderGeneration.arguments(block.json, tool: block.name, provider: provider)
        if let answerTool, block.name == answerTool { return .text(input.jsonText) }
        calledTools = true
        return .toolCall(ToolCall(id: block.id.isEmpty ? "call_\(index)" : block.id, name: block.name, arguments: input))
    }

    mutating func end() throws -> [GenerationEvent] {
        if stopReason == "refusal" {
            throw ProviderError.refused(provider: provider, reason: "the model stopped with a refusal")
        }
        let reason: FinishReason =
            switch stopReason {
            case "max_tokens"?: .length
            case "tool_use"?: calledTools ? .toolCalls : .stop
            default: calledTools ? .toolCalls : .stop
            }
        return [.usage(Usage(promptTokens: inputTokens, completionTokens: outputTokens)), .finished(reason)]
    }

    static func decodeWhole(_ message: JSONValue, provider: String, answerTool: String?) throws -> [GenerationEvent] {
        guard let content = message["content"]?.arrayValue else {
            throw ProviderError.malformedResponse(provider: provider, reason: "the message has no content array")
        }
        var decoder = AnthropicStreamDecoder(provider: provider, answerTool: answerTool)
        var events: [GenerationEvent] = []
        for (index, block) in content.enumerated() {
            switch block["type"]?.stringValue {
            case "text"?:
                if let text = block["text"]?.stringValue, !text.isEmpty { events.append(.text(text)) }
            case "tool_use"?:
                let input = block["input"] ?? .object(JSONObject())
                events.append(
                    try decoder.emit(
                        (
                            type: "tool_use", id: block["id"]?.stringValue ?? "", name: block["name"]?.stringValue ?? "",
                            json: input.jsonText
                        ),
                        index: index))
            default:
                break
            }
        }
        decoder.stopReason = message["stop_reason"]?.stringValue
        if case .object(let usage)? = message["usage"] { decoder.record(usage) }
        return events + (try decoder.end())
    }
}
