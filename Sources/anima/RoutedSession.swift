import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaProcessor
import AnimaProviders
import Foundation
import Synchronization

/// Generation through the configured router for commands that talk to a model directly
/// (`anima ask`, `anima chat`): each request is a generate syscall of a kernel on the
/// data directory, so the routing decision and what came of it go to the audit log there,
/// like the daemon's and `anima run`'s, and the guards see the answer.
struct RoutedSession {
    let router: ProcessorRouter
    let kernel: Kernel
    /// The name of the request processes, as `anima ps` and the audit log show them.
    let name: String

    init(router: ProcessorRouter, dataDirectory: URL, name: String) throws {
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        self.router = router
        self.name = name
        kernel = Kernel(try .standard(processor: router, dataDirectory: dataDirectory.path))
    }

    /// The events of `request`; `decided` hears where it went before its first event.
    func generate(
        _ request: GenerationRequest, decided: @escaping @Sendable (RoutingDecision) -> Void
    ) -> AsyncThrowingStream<GenerationEvent, any Error> {
        let (kernel, router, name) = (kernel, router, name)
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let told = SharedFlag()
                    _ = try await kernel.invoke(.generate(request), as: CurrentUser.principal, name: name) { event in
                        if !told.value.exchange(true, ordering: .relaxed), let decision = router.log.latestDecision { decided(decision) }
                        continuation.yield(event)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// The processor that served the latest request.
    var lastChoice: String? { router.log.latestDecision?.chosen }
}

/// A flag closures can share.
private final class SharedFlag: Sendable {
    let value = Atomic(false)
}
