import AnimaCore
import AnimaKernel
import Foundation
import Hummingbird
import NIOCore

/// The passkey ceremonies as JSON for the console's script: options (a fresh,
/// single-use challenge) and finish (the browser's answer, verified) for registration
/// with an enrollment code, and for sign-in with a discoverable credential.
struct PasskeyRoutes: Sendable {
    let kernel: Kernel
    let store: ConsoleStore
    let configuration: WebConsoleConfiguration
    let challenges: ChallengeBook
    let relyingParty: RelyingParty
    let limiter: EnrollmentLimiter

    static let maxBodyBytes = 64 * 1024

    func register(on router: Router<WebRequestContext>) {
        router.post("/web/passkeys/register/options") { request, context in
            let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
            if case .refused(let wait, let first) = await limiter.check(address) {
                if first {
                    await kernel.noteAccess(
                        "console-enroll", user: "-", "enrollment codes from \(address) refused for \(wait) s",
                        refused: "too many wrong enrollment codes")
                }
                var response = Self.refuse(
                    "too many wrong enrollment codes were tried; wait \(wait) seconds, and check the code `anima web enroll` printed",
                    status: .tooManyRequests)
                response.headers[.init("Retry-After")!] = String(wait)
                return response
            }
            let body = try await Self.json(request)
            guard let code = body["code"]?.stringValue, let enrollment = await store.enrollment(code: code) else {
                await limiter.fail(address)
                await kernel.noteAccess(
                    "console-enroll", user: "-", "a wrong, used or expired enrollment code from \(address)", refused: "bad code")
                return Self.refuse(ConsoleStoreError.badCode.description)
            }
            var generator = SystemRandomNumberGenerator()
            let handle = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let challenge = await challenges.issue(.registration(code: code, userHandle: handle))
            let options: JSONValue = [
                "challenge": .string(Base64URL.encode(challenge)),
                "rp": ["id": .string(configuration.relyingPartyID), "name": .string(configuration.relyingPartyName)],
                "user": [
                    "id": .string(Base64URL.encode(handle)), "name": .string(enrollment.user), "displayName": .string(enrollment.user),
                ],
                "pubKeyCredParams": [["type": "public-key", "alg": -7], ["type": "public-key", "alg": -8]],
                "authenticatorSelection": [
                    "residentKey": "required", "requireResidentKey": true,
                    "userVerification": configuration.requireUserVerification ? "required" : "preferred",
                ],
                "attestation": "none", "timeout": 120_000,
            ]
            return Self.jsonResponse(options)
        }
        router.post("/web/passkeys/register/finish") { request, context in
            let body = try await Self.json(request)
            let origins = configuration.origins(port: context.channel.localAddress?.port)
            do {
                guard let rawID = body["rawId"]?.stringValue.flatMap(Base64URL.decode),
                    let client = body["response"]?["clientDataJSON"]?.stringValue.flatMap(Base64URL.decode),
                    let attestation = body["response"]?["attestationObject"]?.stringValue.flatMap(Base64URL.decode)
                else { throw WebAuthnError.malformed("rawId, response.clientDataJSON and response.attestationObject are required") }
                let challenge = try ClientData(client).challenge
                guard case .registration(let code, let handle) = await challenges.take(challenge) else {
                    throw WebAuthnError.unknownChallenge
                }
                let credential = try await relyingParty.verifyRegistration(
                    .init(rawID: rawID, clientDataJSON: client, attestationObject: attestation), challenge: challenge, origins: origins)
                let passkey = try await store.register(
                    Passkey(
                        id: Base64URL.encode(credential.id), publicKey: Base64URL.encode(credential.publicKey.encoded),
                        signCount: credential.signCount, userHandle: Base64URL.encode(handle), attestation: credential.attestation.rawValue),
                    code: code)
                await kernel.noteAccess(
                    "passkey-register", user: passkey.user, "passkey \(passkey.id.prefix(16)) registered (\(passkey.attestation))")
                return try await signIn(passkey)
            } catch {
                await kernel.noteAccess("passkey-register", user: "-", "a passkey registration was refused", refused: "\(error)")
                return Self.refuse("\(error)")
            }
        }
        router.post("/web/passkeys/signin/options") { request, _ in
            _ = try await Self.json(request)
            let challenge = await challenges.issue(.signIn)
            let options: JSONValue = [
                "challenge": .string(Base64URL.encode(challenge)), "rpId": .string(configuration.relyingPartyID),
                "userVerification": configuration.requireUserVerification ? "required" : "preferred", "allowCredentials": [],
                "timeout": 120_000,
            ]
            return Self.jsonResponse(options)
        }
        router.post("/web/passkeys/signin/finish") { request, context in
            let body = try await Self.json(request)
            let origins = configuration.origins(port: context.channel.localAddress?.port)
            var who = "-"
            do {
                guard let rawID = body["rawId"]?.stringValue.flatMap(Base64URL.decode),
                    let client = body["response"]?["clientDataJSON"]?.stringValue.flatMap(Base64URL.decode),
                    let authData = body["response"]?["authenticatorData"]?.stringValue.flatMap(Base64URL.decode),
                    let signature = body["response"]?["signature"]?.stringValue.flatMap(Base64URL.decode)
                else { throw WebAuthnError.malformed("rawId, clientDataJSON, authenticatorData and signature are required") }
                let userHandle = body["response"]?["userHandle"]?.stringValue.flatMap(Base64URL.decode)
                let challenge = try ClientData(client).challenge
                guard await challenges.take(challenge) == .signIn else { throw WebAuthnError.unknownChallenge }
                guard let passkey = await store.passkey(id: Base64URL.encode(rawID)), let key = Base64URL.decode(passkey.publicKey) else {
                    throw WebAuthnError.unknownCredential
                }
                who = passkey.user
                let count = try relyingParty.verifyAssertion(
                    .init(rawID: rawID, clientDataJSON: client, authenticatorData: authData, signature: signature, userHandle: userHandle),
                    challenge: challenge, origins: origins, credentialID: rawID, publicKey: try COSEKey(encoded: key),
                    storedSignCount: passkey.signCount, userHandle: Base64URL.decode(passkey.userHandle))
                do { try await store.recordSignIn(passkey: passkey.id, signCount: count) } catch {
                    throw WebAuthnError.signCountRollback(stored: passkey.signCount, presented: count)
                }
                return try await signIn(passkey)
            } catch {
                await kernel.noteAccess("console-signin", user: who, "a passkey sign-in was refused", refused: "\(error)")
                return Self.refuse("\(error)")
            }
        }
    }

    /// A new session (never one the browser brought) and its cookie.
    func signIn(_ passkey: Passkey) async throws -> Response {
        let (secret, session) = try await store.startSession(for: passkey)
        await kernel.noteAccess("console-signin", user: passkey.user, "session \(session.id) started with passkey \(passkey.id.prefix(16))")
        var response = Self.jsonResponse(["ok": true, "user": .string(passkey.user), "redirect": "/web/processes"])
        response.headers[.setCookie] =
            "\(WebConsole.cookieName)=\(secret); Path=/; Max-Age=\(Int(store.lifetimes.absolute)); HttpOnly; Secure; SameSite=Strict"
        return response
    }

    static func json(_ request: Request) async throws -> JSONValue {
        guard request.headers[.contentType]?.hasPrefix("application/json") == true else {
            throw HTTPError(.unsupportedMediaType, message: "send application/json")
        }
        var request = request
        let buffer = try await request.collectBody(upTo: maxBodyBytes)
        guard let value = try? JSONValue(parsing: String(buffer: buffer)), value.objectValue != nil else {
            throw HTTPError(.badRequest, message: "the body is not a JSON object")
        }
        return value
    }

    static func jsonResponse(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: value.jsonText)))
    }

    static func refuse(_ reason: String, status: HTTPResponse.Status = .badRequest) -> Response {
        jsonResponse(["ok": false, "error": .string(reason)], status: status)
    }
}
