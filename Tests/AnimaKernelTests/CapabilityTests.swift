import AnimaCore
import AnimaKernel
import AnimaProcessor
import AnimaProviders
import AnimaTesting
import Testing

/// The kernel finds a router or a time-shared processor by asking for the capability,
/// not by downcasting to an implementation it cannot import.
@Suite("Processor capabilities")
struct CapabilityTests {
    @Test func aProcessorSaysWhatItCanDo() throws {
        let plain = ScriptedModel(replies: [])
        #expect(plain.timeSharing == nil && plain.routing == nil)

        let shared: any LanguageModel = ScriptedProcessor(slots: 3, scheduler: Scheduler()) { _ in .text("x") }
        #expect(shared.timeSharing?.slotCount == 3)
        #expect(shared.routing == nil)

        let router: any LanguageModel = try ProcessorRouter(
            candidates: [
                RouteCandidate(id: "local/a", processor: plain, location: .local, capabilities: .init(contextLength: 4096), price: .free),
                RouteCandidate(id: "remote/b", processor: plain, location: .remote, capabilities: .init(contextLength: 8192), price: .free),
            ],
            policy: RouterPolicy(mode: .hybrid, protectedGroups: ["medical"], seed: 1))
        #expect(router.routing?.candidates.map(\.id) == ["local/a", "remote/b"])
        #expect(router.routing?.policy.protectedGroups == ["medical"])
        #expect(router.timeSharing == nil)
    }
}
