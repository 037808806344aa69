import AnimaCore
import AnimaKernel
import AnimaSecurity
import AnimaWeb
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore

/// A kernel, a console store in a fresh directory and the console's router, with the
/// steps a browser takes: enroll, register, sign in.
struct ConsoleHarness {
    static let origin = "http://localhost:8420"
    let kernel: Kernel
    let audit = MemoryAuditTrail()
    let store: ConsoleStore
    let directory: URL
    var configuration = WebConsoleConfiguration(relyingPartyID: "localhost", tls: false, extraOrigins: [ConsoleHarness.origin])

    /// - Parameters:
    ///   - security: the policy monitor of the kernel made here (none: every call allowed).
    ///   - now: the console store's clock (sessions' lifetimes).
    init(
        lifetimes: ConsoleLifetimes = ConsoleLifetimes(), kernel: Kernel? = nil, security: SecurityMonitor? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        directory = URL(fileURLWithPath: NSTemporaryDirectory() + "anima-web-\(UUID().uuidString)")
        store = try ConsoleStore(directory: directory, lifetimes: lifetimes, now: now)
        self.kernel = kernel ?? Kernel(.init(processor: nil, audit: audit, security: security))
        configuration.auditLogPath = directory.appendingPathComponent(AuditLog.fileName).path
        configuration.policyPath = directory.appendingPathComponent("policy.json").path
        configuration.tokens = tokens
    }

    let tokens = MemoryTokenRegistry()
    /// The limiter the router uses, so a test can trip it.
    var limiter = EnrollmentLimiter()

    func test(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: WebConsole.router(kernel: kernel, store: store, configuration: configuration, limiter: limiter))
        try await app.test(.router) { client in try await body(client) }
    }

    /// A long-running process of `owner` named `name`.
    func spawn(_ name: String, owner: String = "alice") async throws -> PID {
        try await kernel.spawn(name: name, owner: Principal(name: owner, groups: ["users"])) { _ in
            try await Task.sleep(for: .seconds(60))
            return ""
        }
    }

    static func json(_ value: JSONValue, cookie: String? = nil, origin: String? = ConsoleHarness.origin) -> (HTTPFields, ByteBuffer) {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let origin { headers[.origin] = origin }
        if let cookie { headers[.cookie] = "\(WebConsole.cookieName)=\(cookie)" }
        return (headers, ByteBuffer(string: value.jsonText))
    }

    static func form(_ fields: [(String, String)], cookie: String?, origin: String? = ConsoleHarness.origin) -> (HTTPFields, ByteBuffer) {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let origin { headers[.origin] = origin }
        if let cookie { headers[.cookie] = "\(WebConsole.cookieName)=\(cookie)" }
        let body = fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(
            separator: "&")
        return (headers, ByteBuffer(string: body))
    }

    static func get(_ client: any TestClientProtocol, _ uri: String, cookie: String?) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let cookie { headers[.cookie] = "\(WebConsole.cookieName)=\(cookie)" }
        return try await client.execute(uri: uri, method: .get, headers: headers)
    }

    /// The cookie secret a Set-Cookie header sets.
    static func cookie(_ response: TestResponse) -> String? {
        guard let header = response.headers[.setCookie], header.hasPrefix(WebConsole.cookieName + "=") else { return nil }
        return String(header.dropFirst(WebConsole.cookieName.count + 1).prefix { $0 != ";" })
    }

    static func challenge(_ response: TestResponse) throws -> [UInt8] {
        let value = try JSONValue(parsing: String(buffer: response.body))
        guard let text = value["challenge"]?.stringValue, let bytes = Base64URL.decode(text) else { throw HTTPError(.badRequest) }
        return bytes
    }

    /// Registers `authenticator` with a fresh enrollment code; returns the response of the finish step.
    func register(
        _ authenticator: SoftwareAuthenticator, client: any TestClientProtocol, user: String = "alice", groups: [String] = ["users"],
        cookie: String? = nil
    ) async throws -> TestResponse {
        let code = try await store.enroll(user: user, groups: groups).code
        let (h, b) = Self.json(["code": .string(code)])
        let options = try await client.execute(uri: "/web/passkeys/register/options", method: .post, headers: h, body: b)
        let challenge = try Self.challenge(options)
        let registration = authenticator.register(challenge: challenge, origin: Self.origin)
        return try await finishRegistration(registration, client: client, cookie: cookie)
    }

    func finishRegistration(_ r: RelyingParty.Registration, client: any TestClientProtocol, cookie: String? = nil) async throws
        -> TestResponse
    {
        let (h, b) = Self.json(
            [
                "id": .string(Base64URL.encode(r.rawID)), "rawId": .string(Base64URL.encode(r.rawID)),
                "response": [
                    "clientDataJSON": .string(Base64URL.encode(r.clientDataJSON)),
                    "attestationObject": .string(Base64URL.encode(r.attestationObject)),
                ],
            ], cookie: cookie)
        return try await client.execute(uri: "/web/passkeys/register/finish", method: .post, headers: h, body: b)
    }

    /// Signs in with `authenticator` (its count moves by one unless `count` says otherwise).
    func signIn(_ authenticator: inout SoftwareAuthenticator, client: any TestClientProtocol, count: UInt32? = nil, cookie: String? = nil)
        async throws -> (TestResponse, RelyingParty.Assertion)
    {
        let (h, b) = Self.json([:])
        let options = try await client.execute(uri: "/web/passkeys/signin/options", method: .post, headers: h, body: b)
        let assertion = authenticator.assert(challenge: try Self.challenge(options), origin: Self.origin, count: count)
        return (try await finishSignIn(assertion, client: client, cookie: cookie), assertion)
    }

    func finishSignIn(_ a: RelyingParty.Assertion, client: any TestClientProtocol, cookie: String? = nil) async throws -> TestResponse {
        let (h, b) = Self.json(
            [
                "id": .string(Base64URL.encode(a.rawID)), "rawId": .string(Base64URL.encode(a.rawID)),
                "response": [
                    "clientDataJSON": .string(Base64URL.encode(a.clientDataJSON)),
                    "authenticatorData": .string(Base64URL.encode(a.authenticatorData)),
                    "signature": .string(Base64URL.encode(a.signature)),
                    "userHandle": a.userHandle.map { .string(Base64URL.encode($0)) } ?? .null,
                ],
            ], cookie: cookie)
        return try await client.execute(uri: "/web/passkeys/signin/finish", method: .post, headers: h, body: b)
    }
}
