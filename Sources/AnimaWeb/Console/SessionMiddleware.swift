import Hummingbird
import NIOCore

/// Lets a request through only with a valid session, except sign-in, enrollment, the
/// passkey ceremonies and static files. A signed-in POST must also carry the session's
/// CSRF token (form field `csrf` or header `X-CSRF-Token`); every POST must come from an
/// origin the console serves.
struct SessionMiddleware: RouterMiddleware {
    typealias Context = WebRequestContext
    let store: ConsoleStore
    let configuration: WebConsoleConfiguration

    static let clearCookie = "\(WebConsole.cookieName)=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict"

    static func isPublic(_ path: String) -> Bool {
        path == "/web/signin" || path == "/web/enroll" || path.hasPrefix("/web/static/") || path.hasPrefix("/web/passkeys/")
    }

    /// The session cookie's value, if the request brings one.
    static func cookie(_ request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix(WebConsole.cookieName + "=") { return String(pair.dropFirst(WebConsole.cookieName.count + 1)) }
            }
        }
        return nil
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if request.method == .post {
            let origins = configuration.origins(port: context.channel.localAddress?.port)
            guard let origin = request.headers[.origin], origins.contains(origin) else {
                return WebConsole.message(
                    "This form came from another site (or named none), so it was refused.", back: "/web/signin", status: .forbidden)
            }
        }
        if Self.isPublic(path) { return try await next(request, context) }
        let cookie = Self.cookie(request)
        guard let secret = cookie, case .valid(let session) = await store.check(secret: secret) else {
            var response: Response
            if request.method == .get || request.method == .head, !path.hasSuffix("/live") {
                response = Response.redirect(to: "/web/signin", type: .normal)
            } else {
                response = WebConsole.message("Sign in first.", back: "/web/signin", status: .unauthorized)
            }
            if cookie != nil { response.headers[.setCookie] = Self.clearCookie }
            return response
        }
        var request = request
        if request.method != .get && request.method != .head {
            let expected = ConsoleStore.csrfToken(secret: secret)
            var presented = request.headers[.init("X-CSRF-Token")!]
            if presented == nil {
                let buffer = try await request.collectBody(upTo: WebConsole.maxFormBytes)
                presented = Form(String(buffer: buffer))["csrf"]
            }
            guard let presented, constantTimeEqual(Array(presented.utf8), Array(expected.utf8)) else {
                return WebConsole.message(
                    "The form's security token is missing or wrong; reload the page and try again.", back: "/web/processes",
                    status: .forbidden)
            }
        }
        var context = context
        context.session = session
        context.secret = secret
        return try await next(request, context)
    }
}
