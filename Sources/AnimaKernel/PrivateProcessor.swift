import AnimaCore
import AnimaProcessor

/// The kernel's processor as an agent's memory pager uses it: every request labelled
/// private, and the context sized to what this machine can serve.
///
/// The pager counts tokens and writes summaries of evicted messages with its model, out
/// of any process's generate syscall; what it reads is memory, the user's personal data,
/// so it must never be routed off the machine. Behind a router the window is as long as
/// the largest local candidate's, since that is where a private request can go.
struct PrivateProcessor: LanguageModel {
    let base: any LanguageModel

    var info: ModelInfo {
        guard let router = base.routing else { return base.info }
        let local = router.candidates.filter { $0.location == .local }.map(\.capabilities.contextLength).max()
        return ModelInfo(
            name: base.info.name, contextLength: local ?? base.info.contextLength, toolCallSyntax: base.info.toolCallSyntax)
    }

    func generate(_ request: GenerationRequest) -> AsyncThrowingStream<GenerationEvent, any Error> {
        base.generate(Self.private(request))
    }

    func countTokens(_ request: GenerationRequest) async throws -> Int {
        try await base.countTokens(Self.private(request))
    }

    func countTokens(text: String) async throws -> Int {
        try await base.countTokens(text: text)
    }

    private static func `private`(_ request: GenerationRequest) -> GenerationRequest {
        var request = request
        request.privacy = request.privacy.joined(with: .private)
        return request
    }
}
