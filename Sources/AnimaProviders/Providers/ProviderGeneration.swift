import AnimaCore
import AnimaProcessor

/// What every remote provider does around its own wire format: the checks that need no
/// network (privacy first), the task that runs the exchange, and cancellation.
enum ProviderGeneration {
    typealias Continuation = AsyncThrowingStream<GenerationEvent, any Error>.Continuation

    static func stream(
        provider: String, location: ProcessorLocation, request: GenerationRequest,
        _ work: @escaping @Sendable (Continuation) async throws -> Void
    ) -> AsyncThrowingStream<GenerationEvent, any Error> {
        AsyncThrowingStream { continuation in
            // Enforced here as well as in the router, so that no path around the router
            // can send private data off the machine.
            if location == .remote, request.privacy.isPrivate {
                continuation.finish(throwing: ProviderError.privateDataRefused(provider: provider))
                return
            }
            if let problem = request.sampling.problem {
                continuation.finish(throwing: ProcessorError.invalidRequest(problem))
                return
            }
            guard !request.messages.isEmpty else {
                continuation.finish(throwing: ProcessorError.invalidRequest("there are no messages"))
                return
            }
            let task = Task {
                do {
                    try await work(continuation)
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Checks what a provider needs before it can send anything: a usable endpoint, a
    /// model name, and a key that belongs to this endpoint when one is needed.
    static func checkSetup(endpoint: ProviderEndpoint, model: String, credential: ProviderCredential?) throws(ProviderError) {
        try endpoint.validate()
        guard !model.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw .invalidConfiguration("\(endpoint.id): the model name is empty")
        }
        if let credential {
            guard credential.provider == endpoint.id else {
                throw .invalidConfiguration("the API key of \(credential.provider) cannot be used for \(endpoint.id)")
            }
            if let problem = credential.problem { throw .invalidConfiguration(problem) }
        } else if endpoint.kind.requiresCredential {
            throw .missingCredential(provider: endpoint.id, environmentVariable: endpoint.resolvedCredentialVariable)
        }
    }

    /// Parses a tool call's arguments; an empty string means no arguments.
    static func arguments(_ text: String, tool: String, provider: String) throws -> JSONValue {
        if text.allSatisfy(\.isWhitespace) { return .object(JSONObject()) }
        do {
            return try JSONValue(parsing: text)
        } catch {
            throw ProviderError.malformedResponse(
                provider: provider, reason: "the arguments of the call to \(tool) are not JSON (\(error))")
        }
    }

    /// The tools a request offers, or none when its tool choice is `.none`.
    static func offeredTools(_ request: GenerationRequest) -> [ToolDefinition] {
        request.toolChoice == .none ? [] : request.tools
    }

    /// The name of the tool that the call `id` (answered by a tool message) went to.
    static func toolName(forCall id: String?, in messages: [ChatMessage]) -> String? {
        guard let id else { return nil }
        for message in messages.reversed() {
            if let call = message.toolCalls.first(where: { $0.id == id }) { return call.name }
        }
        return nil
    }

    /// Checks a request's tool choice against the tools it offers.
    static func checkToolChoice(_ request: GenerationRequest) throws {
        if case .function(let name) = request.toolChoice, !request.tools.contains(where: { $0.name == name }) {
            throw ProcessorError.invalidRequest("the tool choice names \(name), which is not among the request's tools")
        }
        if request.toolChoice == .required, request.tools.isEmpty {
            throw ProcessorError.invalidRequest("a tool call is required but the request offers no tools")
        }
    }
}
