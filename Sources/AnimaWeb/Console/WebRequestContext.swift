import Hummingbird
import Logging
import NIOCore

/// Per-request state of the console: the session, once `SessionMiddleware` found one.
public struct WebRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel
    /// The signed-in session and its cookie secret (for the CSRF token).
    var session: ConsoleSession?
    var secret: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The session; a route behind `SessionMiddleware` always has one.
    func requireSession() throws -> (ConsoleSession, String) {
        guard let session, let secret else { throw HTTPError(.unauthorized, message: "sign in first") }
        return (session, secret)
    }
}
