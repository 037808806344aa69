import AnimaLlama
import AnimaProcessor

/// Wraps a time-shared processor so every generation keeps going past end-of-turn.
package struct IgnoringEndOfTurn: TimeSharedModel {
    package let base: LlamaEngine
    package init(_ base: LlamaEngine) { self.base = base }
    package var info: ModelInfo { base.info }
    package var slotCount: Int { base.slotCount }
    package func generate(_ request: GenerationRequest) -> AsyncThrowingStream<GenerationEvent, any Error> {
        base.generate(Self.adjust(request))
    }
    package func countTokens(_ request: GenerationRequest) async throws -> Int { try await base.countTokens(request) }
    package func countTokens(text: String) async throws -> Int { try await base.countTokens(text: text) }
    package func start(_ request: GenerationRequest, priority: Int) -> any GenerationControl {
        base.start(Self.adjust(request), priority: priority)
    }
    package static func adjust(_ request: GenerationRequest) -> GenerationRequest {
        var r = request
        r.sampling.ignoreEndOfTurn = true
        return r
    }
}
