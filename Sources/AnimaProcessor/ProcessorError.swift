import AnimaCore

/// Why a processor could not load a model or serve a request. Each message says what was
/// wrong and what to do about it.
public enum ProcessorError: Error, Sendable, Equatable, CustomStringConvertible {
    case modelNotFound(path: String)
    case invalidModelFile(path: String, reason: String)
    case unsupportedChatTemplate(model: String, supported: [String])
    case missingChatTemplate(model: String)
    case promptTooLong(tokens: Int, limit: Int)
    case invalidRequest(String)
    case invalidSchema(JSONSchemaError)
    case engineFailure(String)
    case shutDown

    public var description: String {
        switch self {
        case .modelNotFound(let path):
            "no model file at \(path); check the path, or run `make setup` to fetch the default model"
        case .invalidModelFile(let path, let reason):
            "\(path) is not a usable GGUF model: \(reason). Re-download the file or pick another with --model"
        case .unsupportedChatTemplate(let model, let supported):
            "the chat template of \(model) is not one llama.cpp can apply; pass --chat-template with one of: "
                + supported.joined(separator: ", ")
        case .missingChatTemplate(let model):
            "\(model) has no chat template (is it a base model rather than a chat model?); "
                + "pass --chat-template, for example --chat-template chatml"
        case .promptTooLong(let tokens, let limit):
            "the prompt is \(tokens) tokens but the context holds \(limit) (including at least one token of answer); "
                + "shorten the prompt or use a larger --context"
        case .invalidRequest(let reason):
            "invalid request: \(reason)"
        case .invalidSchema(let error):
            error.description
        case .engineFailure(let reason):
            "the inference engine failed: \(reason)"
        case .shutDown:
            "the engine has been shut down"
        }
    }
}
