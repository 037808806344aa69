import AnimaCore
import AnimaProcessor
import Foundation

/// What `anima setup` configures: the mode, the providers and their models, the budget,
/// and the groups whose data stays local. Stored as JSON; it never holds a key (keys are
/// in the environment or the `CredentialStore`). Switching modes is editing `mode`.
public struct ProcessorConfiguration: Sendable, Hashable, Codable {
    public var mode: ProcessorMode
    public var providers: [ProviderEndpoint]
    /// US dollars the router may spend on paid models; nil for no limit.
    public var budget: Double?
    public var protectedGroups: [String]

    public init(mode: ProcessorMode = .local, providers: [ProviderEndpoint] = [], budget: Double? = nil, protectedGroups: [String] = []) {
        self.mode = mode
        self.providers = providers
        self.budget = budget
        self.protectedGroups = protectedGroups
    }

    private enum CodingKeys: String, CodingKey { case mode, providers, budget, protectedGroups }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            mode: try c.decodeIfPresent(ProcessorMode.self, forKey: .mode) ?? .local,
            providers: try c.decodeIfPresent([ProviderEndpoint].self, forKey: .providers) ?? [],
            budget: try c.decodeIfPresent(Double.self, forKey: .budget),
            protectedGroups: try c.decodeIfPresent([String].self, forKey: .protectedGroups) ?? [])
    }

    // MARK: - Files

    /// Reads the configuration; a missing file is the default: local mode, no providers.
    public static func load(from url: URL) throws(ProviderError) -> ProcessorConfiguration {
        guard FileManager.default.fileExists(atPath: url.path) else { return ProcessorConfiguration() }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw .invalidConfiguration("cannot read \(url.path)")
        }
        let configuration: ProcessorConfiguration
        do {
            configuration = try JSONDecoder().decode(ProcessorConfiguration.self, from: data)
        } catch {
            throw .invalidConfiguration("\(url.path) is not a valid processor configuration (\(Self.describe(error)))")
        }
        try configuration.validate()
        return configuration
    }

    /// Writes the configuration (mode 0600: it names the providers in use).
    public func save(to url: URL) throws(ProviderError) {
        try validate()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            let data = try encoder.encode(self)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try DurableFile.write(data, to: url)
        } catch let error as DurableFileError {
            throw .invalidConfiguration(error.description)
        } catch {
            throw .invalidConfiguration("cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    public func validate() throws(ProviderError) {
        var ids = Set<String>()
        for endpoint in providers {
            try endpoint.validate()
            guard ids.insert(endpoint.id).inserted else { throw .invalidConfiguration("two providers are called \(endpoint.id)") }
            guard !endpoint.models.isEmpty else { throw .invalidConfiguration("\(endpoint.id) has no models") }
        }
        if let budget, !(budget >= 0) { throw .invalidConfiguration("the budget cannot be negative") }
    }

    // MARK: - Routing

    /// The router's rules from this configuration.
    public func policy(seed: UInt64? = nil) -> RouterPolicy {
        RouterPolicy(mode: mode, protectedGroups: Set(protectedGroups), budget: budget, seed: seed)
    }

    /// Processors for every configured model, ready for a `ProcessorRouter`. In local mode only
    /// endpoints on this machine are built, so nothing can open a connection elsewhere.
    /// Keys come from each endpoint's environment variable, else from `credentials`.
    public func providerCandidates(
        credentials: CredentialStore?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> [RouteCandidate] {
        var out: [RouteCandidate] = []
        for endpoint in providers where mode != .local || endpoint.resolvedLocation == .local {
            let credential = try Self.credential(for: endpoint, store: credentials, environment: environment)
            for model in endpoint.models {
                out.append(
                    RouteCandidate(
                        id: "\(endpoint.id)/\(model.name)",
                        processor: try endpoint.makeProcessor(model: model.name, credential: credential),
                        location: endpoint.resolvedLocation, capabilities: model.capabilities(kind: endpoint.kind),
                        price: model.resolvedPrice(kind: endpoint.kind)))
            }
        }
        return out
    }

    /// The key of `endpoint`: its environment variable first, then the credential store.
    public static func credential(
        for endpoint: ProviderEndpoint, store: CredentialStore?, environment: [String: String]
    ) throws -> ProviderCredential? {
        if let variable = endpoint.resolvedCredentialVariable, let value = environment[variable],
            !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        {
            return ProviderCredential(provider: endpoint.id, secret: value)
        }
        return try store?.credential(for: endpoint.id)
    }

    private static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .dataCorrupted(let context)?: return context.debugDescription
        case .keyNotFound(let key, let context)?:
            return "missing \(key.stringValue) at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?:
            return "wrong value at \(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        default: return "\(error)"
        }
    }
}

extension ProviderEndpoint {
    /// The processor for one of this endpoint's models.
    public func makeProcessor(model: String, credential: ProviderCredential?) throws(ProviderError) -> any LanguageModel {
        switch kind {
        case .openAI, .openAICompatible: try OpenAIProvider(endpoint: self, model: model, credential: credential)
        case .anthropic: try AnthropicProvider(endpoint: self, model: model, credential: credential)
        case .gemini: try GeminiProvider(endpoint: self, model: model, credential: credential)
        case .ollama: try OllamaProvider(endpoint: self, model: model, credential: credential)
        }
    }
}
