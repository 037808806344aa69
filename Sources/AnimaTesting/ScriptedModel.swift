import AnimaCore
import AnimaProcessor
import Synchronization

/// A deterministic stand-in for a language model, for tests of the layers above the
/// processor: it answers from a script, one word per token, and records every request.
///
/// Tokens are whitespace-separated words, so counts are exact and easy to reason about.
/// Sampling parameters are honoured where they affect the shape of the output:
/// `maxTokens` truncates (finish reason `length`) and `stop` strings end the answer.
public final class ScriptedModel: LanguageModel {
    /// One scripted answer.
    public enum Reply: Sendable, Hashable {
        case text(String)
        case toolCalls([ToolCall])
        /// Calls the token limit cut (an engine closes a constrained call, shortened): finish
        /// reason `length`.
        case cutToolCalls([ToolCall])
        /// Fails the generation with this message.
        case failure(String)
    }

    public let info: ModelInfo
    private let state: Mutex<State>

    private struct State {
        var script: [Reply]
        var responder: (@Sendable (GenerationRequest) -> Reply)?
        var requests: [GenerationRequest] = []
    }

    /// Answers with `replies` in order; when they run out, generation fails with a clear error.
    public init(replies: [Reply], name: String = "scripted", contextLength: Int = 4096, toolCallSyntax: ToolCallSyntax? = nil) {
        info = ModelInfo(name: name, contextLength: contextLength, toolCallSyntax: toolCallSyntax)
        state = Mutex(State(script: replies))
    }

    /// Answers every request with what `responder` returns for it.
    public init(
        name: String = "scripted", contextLength: Int = 4096, toolCallSyntax: ToolCallSyntax? = nil,
        responder: @escaping @Sendable (GenerationRequest) -> Reply
    ) {
        info = ModelInfo(name: name, contextLength: contextLength, toolCallSyntax: toolCallSyntax)
        state = Mutex(State(script: [], responder: responder))
    }

    /// Every request received so far, oldest first.
    public var requests: [GenerationRequest] { state.withLock { $0.requests } }

    public func countTokens(text: String) async throws -> Int { Self.wordCount(text) }

    public func countTokens(_ request: GenerationRequest) async throws -> Int { promptTokens(request) }

    private func promptTokens(_ request: GenerationRequest) -> Int {
        if let raw = request.rawPrompt { return Self.wordCount(raw) }
        let messages = request.messages.reduce(0) { $0 + Self.wordCount($1.content) + 1 }
        let tools = request.toolChoice == .none ? 0 : request.tools.reduce(0) { $0 + Self.wordCount($1.openAIJSON.jsonText) }
        return messages + tools
    }

    public func generate(_ request: GenerationRequest) -> AsyncThrowingStream<GenerationEvent, any Error> {
        let reply: Reply? = state.withLock { s in
            s.requests.append(request)
            if let responder = s.responder { return responder(request) }
            return s.script.isEmpty ? nil : s.script.removeFirst()
        }
        let prompt = promptTokens(request)
        let limit = info.contextLength
        return AsyncThrowingStream { continuation in
            if let problem = request.sampling.problem {
                continuation.finish(throwing: ProcessorError.invalidRequest(problem))
                return
            }
            guard prompt < limit else {
                continuation.finish(throwing: ProcessorError.promptTooLong(tokens: prompt, limit: limit))
                return
            }
            switch reply {
            case nil:
                continuation.finish(throwing: ProcessorError.engineFailure("the scripted model has no reply left"))
            case .failure(let message)?:
                continuation.finish(throwing: ProcessorError.engineFailure(message))
            case .toolCalls(let calls)?, .cutToolCalls(let calls)?:
                for call in calls { continuation.yield(.toolCall(call)) }
                let used = calls.reduce(0) { $0 + Self.words(call: $1) }
                continuation.yield(.usage(Usage(promptTokens: prompt, completionTokens: used)))
                if case .cutToolCalls = reply { continuation.yield(.finished(.length)) } else { continuation.yield(.finished(.toolCalls)) }
                continuation.finish()
            case .text(let text)?:
                let budget = min(request.sampling.maxTokens ?? .max, limit - prompt)
                var emitted = ""
                var count = 0
                var reason = FinishReason.stop
                for word in Self.tokens(text) {
                    if count == budget { reason = .length; break }
                    count += 1
                    let candidate = emitted + word
                    if let stop = request.sampling.stop.compactMap({ candidate.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
                        let kept = String(candidate[..<stop.lowerBound])
                        if kept.count > emitted.count { continuation.yield(.text(String(kept.dropFirst(emitted.count)))) }
                        emitted = kept
                        break
                    }
                    continuation.yield(.text(word))
                    emitted = candidate
                }
                continuation.yield(.usage(Usage(promptTokens: prompt, completionTokens: count)))
                continuation.yield(.finished(reason))
                continuation.finish()
            }
        }
    }

    /// How many words `text` has (runs of non-whitespace). ASCII text is counted by bytes,
    /// which split where its characters do: the daemon's load benchmark counts every prompt.
    static func wordCount(_ text: String) -> Int {
        var count = 0
        var inWord = false
        for byte in text.utf8 {
            guard byte < 0x80 else { return characterWordCount(text) }
            let space = isSpace(byte)
            if !space, !inWord { count += 1 }
            inWord = !space
        }
        return count
    }

    /// `Character.isWhitespace`, without a Unicode property lookup for ASCII.
    /// ASCII whitespace: space, tab, line feed, vertical tab, form feed, carriage return.
    private static func isSpace(_ byte: UInt8) -> Bool { byte == 32 || (9...13).contains(byte) }

    static func isSpace(_ c: Character) -> Bool {
        if let ascii = c.asciiValue { return isSpace(ascii) }
        return c.isWhitespace
    }

    private static func words(call: ToolCall) -> Int { wordCount(call.arguments.jsonText) + 1 }

    /// Splits text into tokens that concatenate back to it exactly: each word with the
    /// whitespace before it.
    static func tokens(_ text: String) -> [String] {
        text.utf8.allSatisfy { $0 < 0x80 } ? asciiTokens(text) : characterTokens(text)
    }

    /// `tokens` by characters, the definition.
    static func characterTokens(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        var sawWord = false
        for ch in text {
            let space = isSpace(ch)
            if space, sawWord {
                out.append(current)
                current = ""
                sawWord = false
            }
            current.append(ch)
            if !space { sawWord = true }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// `wordCount` by characters, the definition.
    static func characterWordCount(_ text: String) -> Int { text.split(whereSeparator: isSpace).count }

    /// `tokens` for ASCII text, by bytes.
    private static func asciiTokens(_ text: String) -> [String] {
        var out: [String] = []
        let utf8 = text.utf8
        var start = utf8.startIndex
        var sawWord = false
        for i in utf8.indices {
            let space = isSpace(utf8[i])
            if space, sawWord {
                out.append(String(text[start..<i]))
                start = i
                sawWord = false
            }
            if !space { sawWord = true }
        }
        if start != utf8.endIndex { out.append(String(text[start...])) }
        return out
    }
}
