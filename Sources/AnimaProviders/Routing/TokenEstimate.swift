import AnimaCore
import AnimaProcessor

/// A quick upper-side estimate of a request's prompt tokens, for routing decisions that
/// must be made in microseconds and without any model's tokenizer: about one token per
/// three bytes of UTF-8 (English text averages four; code and other scripts fewer), plus
/// a few tokens of chat markup per message. The router errs towards larger estimates, so
/// a request it sends to a model fits there.
public enum TokenEstimate {
    public static func promptTokens(_ request: GenerationRequest) -> Int {
        var bytes = 0
        for message in request.messages {
            bytes += message.content.utf8.count + 12
            for call in message.toolCalls { bytes += call.name.utf8.count + call.arguments.jsonText.utf8.count }
        }
        if request.toolChoice != .none {
            for tool in request.tools {
                bytes += tool.name.utf8.count + tool.description.utf8.count + tool.parameters.json.jsonText.utf8.count
            }
        }
        return (bytes + 2) / 3
    }
}
