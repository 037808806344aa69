import AnimaCore
import AnimaProcessor
import Foundation

/// The processor a command generates with, as `anima setup` configured it: the local
/// engine alone when no provider is configured, otherwise a `ProcessorRouter` over the
/// engine and the configured models, under the configured mode, budget and protected
/// groups.
enum ConfiguredProcessor {
    /// The configuration in `$ANIMA_CONFIG/processors.json` (local mode, no providers
    /// when the file does not exist).
    static func configuration() throws -> ProcessorConfiguration {
        try ProcessorConfiguration.load(from: AnimaPaths.processors)
    }

    /// A router over `engine` and the configured providers, or nil when none is configured.
    static func router(engine: LlamaEngine, configuration: ProcessorConfiguration) throws -> ProcessorRouter? {
        guard !configuration.providers.isEmpty else { return nil }
        let remote = try configuration.providerCandidates(credentials: try AnimaPaths.credentialStore())
        return try ProcessorRouter(candidates: [.local(engine)] + remote, policy: configuration.policy())
    }
}
