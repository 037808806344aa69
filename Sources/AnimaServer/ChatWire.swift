import AnimaCore
import AnimaProcessor

/// OpenAI's chat completion wire format, to and from Anima's generation types.
enum ChatWire {
    /// The generation a `/v1/chat/completions` body asks for. Errors name the parameter.
    static func request(from body: JSONObject) throws -> GenerationRequest {
        guard case .array(let rawMessages)? = body["messages"], !rawMessages.isEmpty else {
            throw APIError.badRequest("messages must be a non-empty array", param: "messages")
        }
        var messages: [ChatMessage] = []
        for (i, raw) in rawMessages.enumerated() {
            messages.append(try message(raw, param: "messages[\(i)]"))
        }
        _ = try WireNumber.integer(body["n"], field: "n", in: 1...1)  // OpenAI's n: one choice only

        var tools: [ToolDefinition] = []
        if let rawTools = body["tools"] {
            guard case .array(let list) = rawTools else { throw APIError.badRequest("tools must be an array", param: "tools") }
            for (i, tool) in list.enumerated() {
                let param = "tools[\(i)]"
                guard tool["type"]?.stringValue == "function", let function = tool["function"],
                    let name = function["name"]?.stringValue, !name.isEmpty
                else {
                    throw APIError.badRequest("each tool must be {\"type\": \"function\", \"function\": {\"name\": ...}}", param: param)
                }
                let parameters: JSONSchema
                do {
                    parameters = try JSONSchema(function["parameters"] ?? ["type": "object", "properties": [:]])
                } catch {
                    throw APIError.badRequest("\(param).function.parameters: \(error)", param: param)
                }
                tools.append(ToolDefinition(name: name, description: function["description"]?.stringValue ?? "", parameters: parameters))
            }
        }

        var choice = ToolChoice.auto
        switch body["tool_choice"] {
        case nil, .string("auto")?: break
        case .string("none")?: choice = .none
        case .string("required")?: choice = .required
        case let value? where value["function"]?["name"]?.stringValue != nil:
            choice = .function(value["function"]!["name"]!.stringValue!)
        default: throw APIError.badRequest("tool_choice must be none, auto, required or a function", param: "tool_choice")
        }

        var format = ResponseFormat.text
        if let rf = body["response_format"] {
            switch rf["type"]?.stringValue {
            case "text"?: break
            case "json_object"?: format = .jsonObject
            case "json_schema"?:
                guard let schema = rf["json_schema"]?["schema"] else {
                    throw APIError.badRequest("response_format.json_schema.schema is required", param: "response_format")
                }
                do { format = .jsonSchema(try JSONSchema(schema)) } catch {
                    throw APIError(.badRequest, "response_format: \(error)", param: "response_format", code: "invalid_schema")
                }
            default: throw APIError.badRequest("response_format.type must be text, json_object or json_schema", param: "response_format")
            }
        }
        var request = GenerationRequest(
            messages: messages, tools: tools, toolChoice: choice, responseFormat: format, sampling: try sampling(from: body))
        if let parallel = body["parallel_tool_calls"], parallel != .null {
            guard let flag = parallel.boolValue else {
                throw APIError.badRequest("parallel_tool_calls must be a boolean", param: "parallel_tool_calls")
            }
            request.parallelToolCalls = flag
        }
        return request
    }

    static func message(_ raw: JSONValue, param: String) throws -> ChatMessage {
        guard let roleName = raw["role"]?.stringValue else { throw APIError.badRequest("\(param).role is required", param: param) }
        let role: ChatMessage.Role
        switch roleName {
        case "system", "developer": role = .system
        case "user": role = .user
        case "assistant": role = .assistant
        case "tool", "function": role = .tool
        default: throw APIError.badRequest("\(param).role \"\(roleName)\" is not one of system, user, assistant, tool", param: param)
        }
        var content = ""
        switch raw["content"] {
        case .string(let s)?: content = s
        case .array(let parts)?:
            for part in parts {
                guard part["type"]?.stringValue == "text", let text = part["text"]?.stringValue else {
                    throw APIError.badRequest("\(param).content: only text parts are supported", param: param)
                }
                content += text
            }
        case .null?, nil: break
        default: throw APIError.badRequest("\(param).content must be a string or an array of text parts", param: param)
        }
        var calls: [ToolCall] = []
        if case .array(let list)? = raw["tool_calls"] {
            for call in list {
                guard let id = call["id"]?.stringValue, let name = call["function"]?["name"]?.stringValue else {
                    throw APIError.badRequest("\(param).tool_calls entries need id and function.name", param: param)
                }
                let argumentsText = call["function"]?["arguments"]?.stringValue ?? "{}"
                let arguments = (try? JSONValue(parsing: argumentsText)) ?? .string(argumentsText)
                calls.append(ToolCall(id: id, name: name, arguments: arguments))
            }
        }
        return ChatMessage(role: role, content: content, toolCalls: calls, toolCallID: raw["tool_call_id"]?.stringValue)
    }

    /// The most tokens one request may ask for: far above any context window, far below a trap.
    static let maxTokensLimit = 100_000_000
    /// 2^53: the integers a JSON number (a double) holds exactly.
    static let exactIntegers: Int64 = 9_007_199_254_740_992

    static func sampling(from body: JSONObject) throws -> SamplingParameters {
        var s = SamplingParameters(temperature: 1.0, topP: 1.0, topK: 0, minP: 0)
        if let t = try WireNumber.number(body["temperature"], field: "temperature", in: 0...2) { s.temperature = t }
        if let p = try WireNumber.number(body["top_p"], field: "top_p", in: 0...1) { s.topP = p }
        // A JSON number holds integers exactly up to 2^53 (RFC 7493); llama.cpp takes 32 bits.
        if let seed = try WireNumber.integer(body["seed"], field: "seed", in: -Self.exactIntegers...Self.exactIntegers) {
            s.seed = UInt32(truncatingIfNeeded: seed)
        }
        let maxField = body["max_completion_tokens"].map { $0 == .null } == false ? "max_completion_tokens" : "max_tokens"
        if let m = try WireNumber.integer(body[maxField], field: maxField, in: 1...Self.maxTokensLimit) { s.maxTokens = m }
        if let f = try WireNumber.number(body["frequency_penalty"], field: "frequency_penalty", in: -2...2), f > 0 {
            s.repeatPenalty = 1 + f / 2
        }
        // llama-server's extension: generate to max_tokens past the end of turn (load tests compare equal lengths).
        switch body["ignore_eos"] {
        case nil, .null?: break
        case .bool(let ignore)?: s.ignoreEndOfTurn = ignore
        default: throw APIError.badRequest("ignore_eos must be true or false", param: "ignore_eos")
        }
        switch body["stop"] {
        case nil, .null?: break
        case .string(let stop)?: s.stop = [stop]
        case .array(let list)? where list.count <= 4 && list.allSatisfy({ $0.stringValue?.isEmpty == false }):
            s.stop = list.map { $0.stringValue! }
        default: throw APIError.badRequest("stop must be a string or up to 4 non-empty strings", param: "stop")
        }
        if let problem = s.problem { throw APIError.badRequest(problem) }
        return s
    }

    static func usage(_ u: Usage) -> JSONValue {
        [
            "prompt_tokens": .number(Double(u.promptTokens)), "completion_tokens": .number(Double(u.completionTokens)),
            "total_tokens": .number(Double(u.totalTokens)),
        ]
    }

    static func toolCallJSON(_ call: ToolCall, index: Int? = nil) -> JSONValue {
        var object = JSONObject()
        if let index { object["index"] = .number(Double(index)) }
        object["id"] = .string(call.id)
        object["type"] = "function"
        object["function"] = ["name": .string(call.name), "arguments": .string(call.arguments.jsonText)]
        return .object(object)
    }

    static func completion(_ result: GenerationResult, id: String, created: Int, model: String) -> JSONValue {
        var message = JSONObject()
        message["role"] = "assistant"
        message["content"] = result.text.isEmpty && !result.toolCalls.isEmpty ? .null : .string(result.text)
        if !result.toolCalls.isEmpty { message["tool_calls"] = .array(result.toolCalls.map { toolCallJSON($0) }) }
        return [
            "id": .string(id), "object": "chat.completion", "created": .number(Double(created)), "model": .string(model),
            "choices": [
                [
                    "index": 0, "message": .object(message), "logprobs": .null,
                    "finish_reason": .string(finishReason(result.finishReason, calledTools: !result.toolCalls.isEmpty).rawValue),
                ]
            ],
            "usage": usage(result.usage),
        ]
    }

    /// An answer that ends in tool calls finishes with `tool_calls`, as clients expect
    /// before they run the tools, whatever stopped the decoder (a grammar's end, the limit).
    static func finishReason(_ reason: FinishReason, calledTools: Bool) -> FinishReason {
        calledTools ? .toolCalls : reason
    }

    static func chunk(id: String, created: Int, model: String, delta: JSONObject, finish: FinishReason?) -> JSONValue {
        [
            "id": .string(id), "object": "chat.completion.chunk", "created": .number(Double(created)), "model": .string(model),
            "choices": [
                ["index": 0, "delta": .object(delta), "logprobs": .null, "finish_reason": finish.map { .string($0.rawValue) } ?? .null]
            ],
        ]
    }

}

/// The chunks of one streamed chat completion. Tool calls get consecutive indices, and
/// usage (when asked for) comes after the finish reason, as OpenAI sends them.
final class ChatStream: @unchecked Sendable {
    let id: String, created: Int, model: String, includeUsage: Bool
    private var toolIndex = 0
    private var usage: Usage?

    init(id: String, created: Int, model: String, includeUsage: Bool) {
        self.id = id
        self.created = created
        self.model = model
        self.includeUsage = includeUsage
    }

    func chunk(delta: JSONObject, finish: FinishReason?) -> JSONValue {
        ChatWire.chunk(id: id, created: created, model: model, delta: delta, finish: finish)
    }

    func chunks(for event: GenerationEvent) -> [JSONValue] {
        switch event {
        case .text(let t):
            return [chunk(delta: ["content": .string(t)], finish: nil)]
        case .toolCall(let call):
            defer { toolIndex += 1 }
            return [chunk(delta: ["tool_calls": [ChatWire.toolCallJSON(call, index: toolIndex)]], finish: nil)]
        case .usage(let u):
            usage = u
            return []
        case .finished(let reason):
            var out = [chunk(delta: [:], finish: ChatWire.finishReason(reason, calledTools: toolIndex > 0))]
            if includeUsage, let usage {
                out.append([
                    "id": .string(id), "object": "chat.completion.chunk", "created": .number(Double(created)), "model": .string(model),
                    "choices": [], "usage": ChatWire.usage(usage),
                ])
            }
            return out
        }
    }
}
