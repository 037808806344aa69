import AnimaCore
import AnimaProcessor
import AnimaTesting
import Synchronization
import Testing

@testable import AnimaKernel

/// The kernel names the process owner on every generation (`GenerationRequest.cacheOwner`),
/// so an engine that keeps computed prompts reuses them only for the same user; a caller
/// cannot name someone else.
@Suite struct GenerationOwnerTests {
    @Test func everyGenerationCarriesItsOwnersNameAndNoOther() async throws {
        let owners = Mutex<[String?]>([])
        let kernel = Kernel(
            .init(
                processor: ScriptedModel(contextLength: 4096) { request in
                    owners.withLock { $0.append(request.cacheOwner) }
                    return .text("ok")
                }))
        var request = GenerationRequest(messages: [.user("hello")])
        request.cacheOwner = "bob"  // claimed by alice's call: replaced
        _ = try await kernel.invoke(.generate(request), as: alice)
        _ = try await kernel.invoke(.generate(GenerationRequest(messages: [.user("hello")])), as: bob)
        #expect(owners.withLock { $0 } == ["alice", "bob"])
    }
}
