import Hummingbird
import Logging
import NIOCore

/// Answers a request for the web console: another module's pages, given the request,
/// the client's connection and the request's logger.
public typealias ConsoleResponder = @Sendable (Request, any Channel, Logger) async throws -> Response

/// Hands `/` and everything under `/web/` to the console before bearer-token checks: the
/// console authenticates with its own passkey sessions and refuses what lacks one.
struct ConsoleMiddleware: RouterMiddleware {
    typealias Context = AnimaRequestContext
    let console: ConsoleResponder

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path == "/" || path == "/web" || path.hasPrefix("/web/") else { return try await next(request, context) }
        return try await console(request, context.channel, context.logger)
    }
}
