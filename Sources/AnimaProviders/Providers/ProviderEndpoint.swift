import AnimaCore
import AnimaProcessor
import Foundation

/// One configured provider: what it speaks, where it is, which models it serves, and how
/// patient to be with it. `anima setup` writes these into the processor configuration.
public struct ProviderEndpoint: Sendable, Hashable, Codable {
    /// A short unique name (`openai`, `my-vllm`); the credential store files keys by it.
    public var id: String
    public var kind: ProviderKind
    /// The API root, such as `https://api.openai.com/v1`.
    public var baseURL: String
    /// Where the server runs; nil means: local if the host is a loopback address.
    public var location: ProcessorLocation?
    /// The environment variable read for the key before the credential store; nil means
    /// the provider's usual one (`OPENAI_API_KEY`, ...).
    public var credentialVariable: String?
    public var models: [RemoteModel]
    public var limits: ProviderLimits
    public var retry: RetryPolicy
    /// Whether answers stream (server-sent events, or JSON lines for Ollama). Turn it
    /// off for servers that cannot stream tool calls.
    public var streams: Bool

    public init(
        id: String, kind: ProviderKind, baseURL: String? = nil, location: ProcessorLocation? = nil,
        credentialVariable: String? = nil, models: [RemoteModel] = [], limits: ProviderLimits = .init(),
        retry: RetryPolicy = .init(), streams: Bool = true
    ) {
        self.id = id
        self.kind = kind
        self.baseURL = baseURL ?? kind.defaultBaseURL
        self.location = location
        self.credentialVariable = credentialVariable
        self.models = models
        self.limits = limits
        self.retry = retry
        self.streams = streams
    }

    /// Where the server runs, inferred from the host when not configured.
    public var resolvedLocation: ProcessorLocation {
        location ?? (isLoopback ? .local : .remote)
    }

    /// Whether the base URL's host is this machine.
    var isLoopback: Bool {
        guard let host = URL(string: baseURL)?.host?.lowercased() else { return false }
        return host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// The environment variable consulted for the key.
    public var resolvedCredentialVariable: String? { credentialVariable ?? kind.defaultCredentialVariable }

    /// Checks what can be checked without the network.
    public func validate() throws(ProviderError) {
        let idCharacters = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        guard !id.isEmpty, id.unicodeScalars.allSatisfy(idCharacters.contains) else {
            throw .invalidConfiguration("the provider name \"\(id)\" must be letters, digits, '-', '_' or '.'")
        }
        guard let url = URL(string: baseURL), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            url.host?.isEmpty == false
        else {
            throw .invalidConfiguration("\(id): the base URL \"\(baseURL)\" is not an http(s) URL")
        }
        if scheme == "http", !isLoopback, kind.requiresCredential {
            throw .invalidConfiguration("\(id): \(baseURL) would send the API key unencrypted; use https")
        }
        if let problem = limits.problem ?? retry.problem { throw .invalidConfiguration("\(id): \(problem)") }
    }

    /// The full URL of an API path such as `/chat/completions`.
    func url(_ path: String) -> String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + path
    }

    private enum CodingKeys: String, CodingKey {
        case id, kind, baseURL, location, credentialVariable, models, limits, retry, streams
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try c.decode(ProviderKind.self, forKey: .kind)
        self.init(
            id: try c.decode(String.self, forKey: .id), kind: kind,
            baseURL: try c.decodeIfPresent(String.self, forKey: .baseURL),
            location: try c.decodeIfPresent(ProcessorLocation.self, forKey: .location),
            credentialVariable: try c.decodeIfPresent(String.self, forKey: .credentialVariable),
            models: try c.decodeIfPresent([RemoteModel].self, forKey: .models) ?? [],
            limits: try c.decodeIfPresent(ProviderLimits.self, forKey: .limits) ?? .init(),
            retry: try c.decodeIfPresent(RetryPolicy.self, forKey: .retry) ?? .init(),
            streams: try c.decodeIfPresent(Bool.self, forKey: .streams) ?? true)
    }
}
