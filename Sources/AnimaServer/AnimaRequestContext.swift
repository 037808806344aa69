import Hummingbird
import Logging

/// Per-request state: Hummingbird's core context plus the authenticated token.
public struct AnimaRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `AuthenticationMiddleware` for every route but /health.
    public var token: AccessToken?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// The token, which every authenticated route has; a missing one is a server bug.
    func requireToken() throws -> AccessToken {
        guard let token else { throw APIError(.unauthorized, "authentication required", type: "authentication_error") }
        return token
    }
}
