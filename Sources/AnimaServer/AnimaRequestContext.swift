import Hummingbird
import Logging
import NIOCore

/// Per-request state: Hummingbird's core context plus the authenticated token.
public struct AnimaRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `AuthenticationMiddleware` for every route but /health.
    public var token: AccessToken?
    /// The client's connection: its closing tells a long request that no one waits for it.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The token, which every authenticated route has; a missing one is a server bug.
    func requireToken() throws -> AccessToken {
        guard let token else { throw APIError(.unauthorized, "authentication required", type: "authentication_error") }
        return token
    }
}
