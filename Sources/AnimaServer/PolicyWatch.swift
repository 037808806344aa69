import AnimaAutomation
import AnimaKernel
import AnimaSecurity
import Logging
import ServiceLifecycle

/// Applies the data directory's `policy.json` while the daemon runs: written, replaced or
/// removed (the strict default then), the policy in force changes for every process from its
/// next check on, and the audit trail records it. A file that does not parse is refused
/// (recorded, and logged with the reason) and the policy in force stays.
struct PolicyWatch: Service {
    let kernel: Kernel
    let directory: String
    let logger: Logger

    func run() async throws {
        // A service that returns stops the daemon, so this one returns only at the shutdown.
        let watcher: DirectoryWatcher
        do { watcher = try DirectoryWatcher(directory: directory, removals: true) } catch {
            logger.warning("the policy file will not be reloaded while the daemon runs: \(error)")
            try? await gracefulShutdown()
            return
        }
        let path = directory + "/" + SecurityMonitor.policyFileName
        let reload = { @Sendable in
            switch await kernel.reloadPolicy(from: path, by: "file") {
            case .applied(let digest): logger.info("policy reloaded from \(path) (sha256 \(digest.prefix(16)))")
            case .refused(let reason): logger.error("\(path) was not applied: \(reason)")
            case .unchanged: break
            }
        }
        // A change between the daemon's start and the watch being set up has no event: read
        // the file once now (unchanged since the start: nothing happens, nothing is recorded).
        await reload()
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                for await changed in watcher.events() where changed == path { await reload() }
            } onCancel: {
                watcher.close()
            }
        } onGracefulShutdown: {
            watcher.close()
        }
        try? await gracefulShutdown()
    }
}
