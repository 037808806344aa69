import AnimaCore
import AnimaProcessor

/// The red-team harness's simulated victim: a model that answers every request with what
/// its policy decides, so a scan can measure the worst case (a model that obeys every
/// injected instruction) without loading a real one.
///
/// It is part of the harness, not a test double: `anima scan` runs it. Tokens are
/// whitespace-separated words; an answer longer than the request's `maxTokens` is cut
/// there (finish reason `length`).
struct ObedientModel: LanguageModel {
    /// What the model does next: answer in text, or call tools.
    enum Reply: Sendable {
        case text(String)
        case toolCalls([ToolCall])
    }

    let info: ModelInfo
    private let policy: @Sendable (GenerationRequest) -> Reply

    init(contextLength: Int, policy: @escaping @Sendable (GenerationRequest) -> Reply) {
        info = ModelInfo(name: "obedient", contextLength: contextLength)
        self.policy = policy
    }

    func countTokens(text: String) async throws -> Int { Self.words(text) }

    func countTokens(_ request: GenerationRequest) async throws -> Int { Self.promptTokens(request) }

    func generate(_ request: GenerationRequest) -> AsyncThrowingStream<GenerationEvent, any Error> {
        let reply = policy(request)
        let prompt = Self.promptTokens(request)
        return AsyncThrowingStream { continuation in
            switch reply {
            case .toolCalls(let calls):
                for call in calls { continuation.yield(.toolCall(call)) }
                let used = calls.reduce(0) { $0 + Self.words($1.arguments.jsonText) + 1 }
                continuation.yield(.usage(Usage(promptTokens: prompt, completionTokens: used)))
                continuation.yield(.finished(.toolCalls))
            case .text(let text):
                let words = text.split(whereSeparator: \.isWhitespace)
                let limit = request.sampling.maxTokens ?? .max
                let kept = words.count > limit ? words.prefix(limit).joined(separator: " ") : text
                continuation.yield(.text(kept))
                continuation.yield(.usage(Usage(promptTokens: prompt, completionTokens: min(words.count, limit))))
                continuation.yield(.finished(words.count > limit ? .length : .stop))
            }
            continuation.finish()
        }
    }

    private static func words(_ text: String) -> Int { text.split(whereSeparator: \.isWhitespace).count }

    private static func promptTokens(_ request: GenerationRequest) -> Int {
        request.messages.reduce(0) { $0 + words($1.content) + 1 }
    }
}
