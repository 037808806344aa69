import AnimaCore
import AnimaLlama
import AnimaProcessor
import AnimaProviders
import Foundation

/// The processor a command generates with, as `anima setup` configured it: the local
/// engine alone when no provider is configured, otherwise a `ProcessorRouter` over the
/// engine and the configured models, under the configured mode, budget and protected
/// groups. Switching modes is a change of `processors.json`, nothing else.
package enum ConfiguredProcessor {
    /// The configuration in `$ANIMA_CONFIG/processors.json` (local mode, no providers
    /// when the file does not exist).
    package static func configuration() throws -> ProcessorConfiguration {
        try ProcessorConfiguration.load(from: AnimaPaths.processors)
    }

    /// A router over `engine` and the configured providers, or nil when none is configured.
    package static func router(engine: LlamaEngine, configuration: ProcessorConfiguration) throws -> ProcessorRouter? {
        try router(local: .local(engine), configuration: configuration)
    }

    /// A router over the local candidate and the configured providers, or nil when none
    /// is configured.
    package static func router(local: RouteCandidate, configuration: ProcessorConfiguration) throws -> ProcessorRouter? {
        guard !configuration.providers.isEmpty else { return nil }
        let remote = try configuration.providerCandidates(credentials: try AnimaPaths.credentialStore())
        return try ProcessorRouter(candidates: [local] + remote, policy: configuration.policy())
    }

    /// What the kernel generates with: the router when providers are configured, else
    /// `local` itself (on its own scheduler, exactly as without a configuration).
    package static func processor(local: RouteCandidate, configuration: ProcessorConfiguration? = nil) throws -> any LanguageModel {
        try router(local: local, configuration: configuration ?? self.configuration()) ?? local.processor
    }

    /// `processor(local:)` for a scripted model, which serves as the local processor in tests.
    package static func processor(scripted: any LanguageModel) throws -> any LanguageModel {
        try processor(
            local: RouteCandidate(
                id: "local/\(scripted.info.name)", processor: scripted, location: .local,
                capabilities: ModelCapabilities(
                    contextLength: scripted.info.contextLength, tools: true, vision: false, structuredOutput: true),
                price: .free))
    }
}
