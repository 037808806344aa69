import AnimaCore
import AnimaProcessor
import Foundation
import Hummingbird

/// A load-test anchor that only the scripted daemon serves (`anima-bench serve --scripted`):
/// it authenticates and parses a chat request as the real route does, then answers a fixed
/// completion without the kernel or a model.
///
/// The daemon's own cost (issue 24) is the real chat route's requests/s as a ratio of this
/// route's, in the same run: what lies between them is the kernel path (process, guards,
/// audit) and the model's scheduling, which a profile then splits.
enum FixedAnswerRoute {
    static let path = "bench/fixed-chat"

    static func register(on router: Router<AnimaRequestContext>, maxRequestBytes: Int) {
        router.post(RouterPath(path)) { request, context in
            _ = try context.authorize(.chat)
            let body = try await request.jsonObject(limit: maxRequestBytes)
            let generation = try ChatWire.request(from: body)
            let text = "You said: " + (generation.messages.last?.content ?? "")
            let result = GenerationResult(
                text: text, toolCalls: [], usage: Usage(promptTokens: 1, completionTokens: 1), finishReason: .stop)
            return Response.json(
                ChatWire.completion(result, id: "chatcmpl-" + Hex.randomID(), created: Int(Date().timeIntervalSince1970), model: "scripted")
            )
        }
    }
}
