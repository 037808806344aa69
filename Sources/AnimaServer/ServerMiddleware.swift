import AnimaCore
import Foundation
import Hummingbird
import Logging
import Metrics

/// Turns any error into the API's error shape, logs it with the request id, and counts
/// requests and their latency for /metrics.
struct ErrorAndMetricsMiddleware: RouterMiddleware {
    typealias Context = AnimaRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let route = Self.route(request.uri.path)
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let apiError = APIError.from(error)
            if apiError.status.code >= 500 {
                context.logger.error("request failed", metadata: ["path": .string(request.uri.path), "error": .string(apiError.message)])
            }
            response = apiError.response
        }
        response.headers[.init("X-Request-Id")!] = context.id
        let elapsed = start.duration(to: .now)
        let dimensions = [("route", route), ("status", String(response.status.code))]
        Counter(label: "anima_http_requests_total", dimensions: dimensions).increment()
        Timer(label: "anima_http_request_duration_seconds", dimensions: [("route", route)]).recordNanoseconds(
            elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        if response.status == .forbidden { Counter(label: "anima_denials_total", dimensions: [("route", route)]).increment() }
        return response
    }

    /// The metric's label for `path`: the route template it matches (as the OpenAPI
    /// document writes it, or /mcp), else "unmatched". The set of labels is fixed, so no
    /// request, authenticated or not, can grow the metrics without bound.
    static func route(_ path: String) -> String {
        let parts = path.utf8.split(separator: UInt8(ascii: "/"))
        for (template, pattern) in routeTemplates where pattern.count == parts.count {
            if zip(pattern, parts).allSatisfy({ $0.0 == nil || $0.0!.elementsEqual($0.1) }) { return template }
        }
        return "unmatched"
    }

    /// Each route template with its components: a literal, or nil for a parameter.
    static let routeTemplates: [(template: String, pattern: [[UInt8]?])] = {
        guard case .object(let paths)? = try? JSONValue(parsing: OpenAPIDocument.json)["paths"] else { return [] }
        return (paths.keys + ["/mcp"]).map { template in
            (template, template.split(separator: "/").map { $0.hasPrefix("{") ? nil : Array($0.utf8) })
        }
    }()
}

/// Requires a valid bearer token on every route but /health, and applies the token's
/// rate and concurrency limits.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AnimaRequestContext
    let tokens: TokenStore
    let limiter: RequestLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/health" { return try await next(request, context) }
        // A workflow's webhook is authenticated by the HMAC signature of its body instead,
        // and limited per workflow as a token is (a flood of bad signatures included).
        let token: AccessToken? = WorkflowRoutes.isWebhook(request) ? nil : try await authenticate(request)
        let key = token?.id ?? "webhook:" + request.uri.path
        switch await limiter.admit(key) {
        case .admitted: break
        case .tooMany:
            throw APIError(
                .tooManyRequests, "too many requests in flight for this token (limit \(limiter.concurrent)); wait for some to finish",
                type: "rate_limit_error", code: "concurrency_limit")
        case .tooFast(let retry):
            var error = APIError(
                .tooManyRequests, "rate limit of \(limiter.perMinute) requests per minute reached; retry in \(retry) s",
                type: "rate_limit_error", code: "rate_limit")
            error.headers[.retryAfter] = String(retry)
            throw error
        }
        var context = context
        if let token {
            context.token = token
            context.logger[metadataKey: "token"] = .string(token.id)
        }
        do {
            var response = try await next(request, context)
            // A streamed body is still being written: release when it is done.
            let body = response.body
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                defer { Task { await limiter.release(key) } }
                try await body.write(writer)
            }
            return response
        } catch {
            await limiter.release(key)
            throw error
        }
    }

    /// The bearer token of `request`, checked.
    func authenticate(_ request: Request) async throws -> AccessToken {
        // The scheme is case-insensitive (RFC 9110 §11.1): `bearer` and `BEARER` are `Bearer`.
        guard let header = request.headers[.authorization], header.utf8.count > 7,
            header.prefix(7).lowercased() == "bearer "
        else {
            throw APIError(
                .unauthorized, "missing bearer token; send `Authorization: Bearer <token>` (create one with `anima token create`)",
                type: "authentication_error", code: "missing_token")
        }
        // Spaces trimmed by hand: Foundation's trimmingCharacters cost 2% of the daemon.
        var secret = header.dropFirst(7)
        while secret.first == " " || secret.first == "\t" { secret.removeFirst() }
        while secret.last == " " || secret.last == "\t" { secret.removeLast() }
        switch await tokens.check(String(secret)) {
        case .valid(let valid): return valid
        case .invalid:
            throw APIError(
                .unauthorized, "the bearer token is not valid; check it, or create one with `anima token create`",
                type: "authentication_error", code: "invalid_token")
        case .revoked:
            throw APIError(
                .unauthorized, "the bearer token has been revoked; create a new one with `anima token create`",
                type: "authentication_error", code: "revoked_token")
        case .expired(let when):
            throw APIError(
                .unauthorized,
                "the bearer token expired at \(ISO8601DateFormatter().string(from: when)); create a new one with `anima token create --expires 90d`",
                type: "authentication_error", code: "expired_token")
        }
    }
}

extension AnimaRequestContext {
    /// The token, checked for `scope`.
    func authorize(_ scope: Scope) throws -> AccessToken {
        let token = try requireToken()
        guard token.allows(scope) else {
            throw APIError(
                .forbidden,
                "this token lacks the \(scope.rawValue) scope; create one that has it with `anima token create --scope \(scope.rawValue)`",
                type: "permission_error", code: "missing_scope")
        }
        return token
    }
}
