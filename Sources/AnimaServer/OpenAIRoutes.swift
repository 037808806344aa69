import AnimaCore
import AnimaKernel
import AnimaProcessor
import Foundation
import Hummingbird
import ServiceLifecycle

/// The OpenAI-compatible API: chat completions, completions, embeddings and models, in
/// OpenAI's wire format, so existing clients and SDKs work unchanged.
///
/// Every generation runs as a syscall of a short-lived process owned by the token's
/// principal, so concurrent clients are scheduled together on the processor and every
/// request is authorised and audited.
struct OpenAIRoutes {
    let kernel: Kernel
    let embedder: (any EmbeddingModel)?
    let maxRequestBytes: Int
    /// Seconds a whole (non-streamed) generation may go on after shutdown begins.
    var shutdownGrace = 10
    let started = Int(Date().timeIntervalSince1970)

    /// The daemon's kernel always has a processor (`Daemon` requires one).
    var modelName: String { kernel.processor?.info.name ?? "none" }

    func register(on router: Router<AnimaRequestContext>) {
        let v1 = router.group("v1")
        v1.post("chat/completions") { request, context in try await chatCompletions(request, context) }
        v1.post("completions") { request, context in try await completions(request, context) }
        v1.post("embeddings") { request, context in try await embeddings(request, context) }
        v1.get("models") { _, context in
            _ = try context.authorize(.chat)
            return Response.json(["object": "list", "data": .array(modelList)])
        }
        v1.get("models/:id") { _, context in
            _ = try context.authorize(.chat)
            let id = try context.pathParameter("id")
            guard let model = modelList.first(where: { $0["id"]?.stringValue == id }) else {
                throw APIError(.notFound, "the model \(id) does not exist; see GET /v1/models", code: "model_not_found")
            }
            return Response.json(model)
        }
    }

    /// The models a request may name: the processor, and with a router each of its
    /// candidates (naming one pins the request to it, within the privacy rule).
    var routable: [String] { kernel.processor?.routing?.candidates.map(\.id) ?? [] }

    /// The models of a processor that serves several (`ResidentModels`) besides its default.
    var served: [String] { (kernel.processor?.info.models ?? []).filter { $0 != modelName } }

    var modelList: [JSONValue] {
        var names = [modelName] + routable + served
        if let embedder { names.append(embedder.name) }
        return names.map { ["id": .string($0), "object": "model", "created": .number(Double(started)), "owned_by": "anima"] }
    }

    func body(_ request: Request) async throws -> JSONObject { try await request.jsonObject(limit: maxRequestBytes) }

    func checkModel(_ body: JSONObject, allowed: [String]) throws {
        guard let model = body["model"]?.stringValue else { throw APIError.badRequest("model is required", param: "model") }
        guard allowed.contains(model) || model == "anima" else {
            throw APIError(
                .notFound,
                "the model \(model) does not exist or you do not have access to it; this server has \(allowed.joined(separator: ", "))",
                param: "model", code: "model_not_found")
        }
    }

    /// Sets the request's privacy (the `privacy` member or the X-Anima-Privacy header) and,
    /// when `model` names a router candidate, pins the request to it.
    func label(_ generation: inout GenerationRequest, _ body: JSONObject, _ request: Request) throws {
        generation.privacy = try PrivacyWire.label(body: body["privacy"], header: request.headers[.init(PrivacyWire.header)!])
        if let model = body["model"]?.stringValue, routable.contains(model) { generation.pinnedProcessor = model }
        if let model = body["model"]?.stringValue, served.contains(model) { generation.model = model }
        // A stream has answered 200 before the kernel routes it: refuse what must be refused now.
        if body["stream"]?.boolValue == true, let pin = generation.pinnedProcessor, let router = kernel.processor?.routing,
            router.candidates.first(where: { $0.id == pin })?.location == .remote,
            generation.privacy.staysLocal(protecting: router.policy.protectedGroups)
        {
            throw APIError(
                .forbidden,
                "the request is \(generation.privacy) and stays on this machine, but \(pin) is remote; name a local model or none",
                type: "permission_error", param: "model", code: "private_data_stays_local")
        }
    }

    // MARK: Chat completions

    func chatCompletions(_ request: Request, _ context: AnimaRequestContext) async throws -> Response {
        let token = try context.authorize(.chat)
        let body = try await body(request)
        try checkModel(body, allowed: [modelName] + routable + served)
        var generation = try ChatWire.request(from: body)
        try label(&generation, body, request)
        let id = "chatcmpl-" + Hex.randomID()
        let created = Int(Date().timeIntervalSince1970)
        if body["stream"]?.boolValue == true {
            let chat = ChatStream(
                id: id, created: created, model: modelName, includeUsage: body["stream_options"]?["include_usage"]?.boolValue == true)
            return stream(generation, as: token.principal, chunks: chat.chunks(for:)) {
                [chat.chunk(delta: ["role": "assistant", "content": ""], finish: nil)]
            }
        }
        let result = try await generateForWaitingClient(generation, as: token.principal, context)
        return Response.json(ChatWire.completion(result, id: id, created: created, model: modelName))
    }

    // MARK: Legacy completions

    func completions(_ request: Request, _ context: AnimaRequestContext) async throws -> Response {
        let token = try context.authorize(.chat)
        let body = try await body(request)
        try checkModel(body, allowed: [modelName] + routable + served)
        let prompt: String
        switch body["prompt"] {
        case .string(let s)?: prompt = s
        case .array(let items)? where items.count == 1 && items[0].stringValue != nil: prompt = items[0].stringValue!
        case nil: throw APIError.badRequest("prompt is required", param: "prompt")
        default: throw APIError.badRequest("prompt must be a string (one prompt per request)", param: "prompt")
        }
        var generation = GenerationRequest(messages: [], sampling: try ChatWire.sampling(from: body), rawPrompt: prompt)
        generation.sampling.maxTokens = generation.sampling.maxTokens ?? 16  // OpenAI's default for completions
        try label(&generation, body, request)
        let id = "cmpl-" + Hex.randomID()
        let created = Int(Date().timeIntervalSince1970)
        if body["stream"]?.boolValue == true {
            return stream(generation, as: token.principal) { event in
                switch event {
                case .text(let t):
                    return [
                        [
                            "id": .string(id), "object": "text_completion", "created": .number(Double(created)),
                            "model": .string(modelName), "choices": [Self.choice(t, .null)],
                        ]
                    ]
                case .finished(let reason):
                    return [
                        [
                            "id": .string(id), "object": "text_completion", "created": .number(Double(created)),
                            "model": .string(modelName), "choices": [Self.choice("", .string(reason.rawValue))],
                        ]
                    ]
                case .toolCall, .usage: return []
                }
            } opening: {
                []
            }
        }
        let result = try await generateForWaitingClient(generation, as: token.principal, context)
        return Response.json([
            "id": .string(id), "object": "text_completion", "created": .number(Double(created)), "model": .string(modelName),
            "choices": [Self.choice(result.text, .string(result.finishReason.rawValue))], "usage": ChatWire.usage(result.usage),
        ])
    }

    static func choice(_ text: String, _ finish: JSONValue) -> JSONValue {
        ["text": .string(text), "index": 0, "logprobs": .null, "finish_reason": finish]
    }

    // MARK: Embeddings

    func embeddings(_ request: Request, _ context: AnimaRequestContext) async throws -> Response {
        _ = try context.authorize(.chat)
        guard let embedder else {
            throw APIError(
                .notFound, "this server has no embedding model; start it with --embedding-model or run `make setup`",
                code: "model_not_found")
        }
        let body = try await body(request)
        try checkModel(body, allowed: [embedder.name])
        let inputs: [String]
        switch body["input"] {
        case .string(let s)?: inputs = [s]
        case .array(let items)? where !items.isEmpty && items.allSatisfy({ $0.stringValue != nil }): inputs = items.map { $0.stringValue! }
        case nil: throw APIError.badRequest("input is required", param: "input")
        default:
            throw APIError.badRequest(
                "input must be a string or a non-empty array of strings (token arrays are not supported)", param: "input")
        }
        guard inputs.count <= 2048 else { throw APIError.badRequest("at most 2048 inputs per request", param: "input") }
        let format = body["encoding_format"]?.stringValue ?? "float"
        guard format == "float" || format == "base64" else {
            throw APIError.badRequest("encoding_format must be float or base64", param: "encoding_format")
        }
        let vectors = try await embedder.embed(inputs)
        let tokens = inputs.reduce(0) { $0 + (embedder.tokenCount(of: $1) ?? $1.split(separator: " ").count) }
        let data: [JSONValue] = vectors.enumerated().map { i, vector in
            let embedding: JSONValue =
                format == "base64"
                ? .string(vector.withUnsafeBufferPointer { Data(buffer: $0) }.base64EncodedString())
                : .array(vector.map { .number(Double($0)) })
            return ["object": "embedding", "index": .number(Double(i)), "embedding": embedding]
        }
        return Response.json([
            "object": "list", "data": .array(data), "model": .string(embedder.name),
            "usage": ["prompt_tokens": .number(Double(tokens)), "total_tokens": .number(Double(tokens))],
        ])
    }

    // MARK: Running generations

    func generate(_ generation: GenerationRequest, as principal: Principal, interrupt: RequestInterrupt? = nil) async throws
        -> GenerationResult
    {
        guard case .generated(let result) = try await kernel.invoke(.generate(generation), as: principal, name: "api", interrupt: interrupt)
        else {
            throw APIError(.internalServerError, "the generation returned no result", type: "server_error")
        }
        return result
    }

    /// A whole generation for a client that waits for the answer. It stops (and gives its
    /// slot back) when the client hangs up, and `shutdownGrace` seconds after the server
    /// begins to shut down: until then it may finish, as a graceful stop promises.
    func generateForWaitingClient(_ generation: GenerationRequest, as principal: Principal, _ context: AnimaRequestContext) async throws
        -> GenerationResult
    {
        try await WaitingClient.runInPlace(context, grace: shutdownGrace) { try await generate(generation, as: principal, interrupt: $0) }
    }

    /// A server-sent event stream of `chunks(event)` for each generation event, ended by
    /// `[DONE]`. If the server shuts down or the generation fails midway, the stream ends
    /// with an error event and `[DONE]`, never by dropping the connection.
    func stream(
        _ generation: GenerationRequest, as principal: Principal,
        chunks: @escaping @Sendable (GenerationEvent) -> [JSONValue], opening: @escaping @Sendable () -> [JSONValue]
    ) -> Response {
        let (events, continuation) = AsyncStream<GenerationEvent>.makeStream()
        let failure = FailureBox()
        let kernel = kernel
        let run = Task {
            do {
                _ = try await kernel.invoke(.generate(generation), as: principal, name: "api-stream") { continuation.yield($0) }
            } catch {
                failure.error = error
            }
            continuation.finish()
        }
        let body = ResponseBody { writer in
            try await withGracefulShutdownHandler {
                do {
                    for chunk in opening() { try await writer.write(ServerSentEvents.event(chunk)) }
                    for await event in events {
                        for chunk in chunks(event) { try await writer.write(ServerSentEvents.event(chunk)) }
                    }
                    if let error = failure.error {
                        let apiError =
                            error is CancellationError
                            ? APIError(
                                .serviceUnavailable, "the server is shutting down; the answer was cut short", type: "server_error",
                                code: "shutdown")
                            : APIError.from(error)
                        try await writer.write(ServerSentEvents.event(apiError.json))
                    }
                    try await writer.write(ServerSentEvents.done)
                    try await writer.finish(nil)
                } catch {
                    run.cancel()  // the client went away: stop generating for it
                    throw error
                }
            } onGracefulShutdown: {
                run.cancel()
            }
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}

extension Request {
    /// The body as a JSON object, refusing bodies over `limit` bytes.
    func jsonObject(limit: Int) async throws -> JSONObject {
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: limit)
        } catch {
            throw APIError(.contentTooLarge, "the request body is larger than \(limit) bytes", code: "request_too_large")
        }
        guard case .object(let object) = try JSONValue(parsing: String(buffer: buffer)) else {
            throw APIError.badRequest("the body must be a JSON object")
        }
        return object
    }
}

final class FailureBox: @unchecked Sendable {
    var error: (any Error)?
}

/// Server-sent events as OpenAI streams them: `data: <json>` lines and a final `[DONE]`.
enum ServerSentEvents {
    static func event(_ value: JSONValue) -> ByteBuffer { ByteBuffer(string: "data: \(value.jsonText)\n\n") }
    static func event(named name: String, _ value: JSONValue) -> ByteBuffer {
        ByteBuffer(string: "event: \(name)\ndata: \(value.jsonText)\n\n")
    }
    static let done = ByteBuffer(string: "data: [DONE]\n\n")
}
