import AnimaWeb
import Crypto
import Foundation

/// A passkey authenticator in software, for tests: makes the registrations and
/// assertions a browser would return, and can be told to misbehave.
struct SoftwareAuthenticator {
    enum Key {
        case p256(P256.Signing.PrivateKey)
        case ed25519(Curve25519.Signing.PrivateKey)
    }

    var key: Key
    var credentialID: [UInt8]
    var rpID: String
    var signCount: UInt32 = 0
    var userHandle: [UInt8] = []

    init(_ kind: COSEKey.Algorithm = .es256, rpID: String = "localhost") {
        key = kind == .es256 ? .p256(P256.Signing.PrivateKey()) : .ed25519(Curve25519.Signing.PrivateKey())
        credentialID = (0..<16).map { _ in UInt8.random(in: 0...255) }
        self.rpID = rpID
    }

    var coseKey: CBOR {
        switch key {
        case .p256(let k):
            let raw = Array(k.publicKey.x963Representation)
            return .map([
                .integer(1): .integer(2), .integer(3): .integer(-7), .integer(-1): .integer(1), .integer(-2): .bytes(Array(raw[1..<33])),
                .integer(-3): .bytes(Array(raw[33..<65])),
            ])
        case .ed25519(let k):
            return .map([
                .integer(1): .integer(1), .integer(3): .integer(-8), .integer(-1): .integer(6),
                .integer(-2): .bytes(Array(k.publicKey.rawRepresentation)),
            ])
        }
    }

    static let up: UInt8 = 0x01, uv: UInt8 = 0x04, at: UInt8 = 0x40

    func authenticatorData(flags: UInt8, count: UInt32, attested: Bool) -> [UInt8] {
        var out = Array(SHA256.hash(data: Array(rpID.utf8)))
        out.append(flags | (attested ? Self.at : 0))
        out += [UInt8(count >> 24), UInt8((count >> 16) & 0xFF), UInt8((count >> 8) & 0xFF), UInt8(count & 0xFF)]
        if attested {
            out += [UInt8](repeating: 0, count: 16)
            out += [UInt8(credentialID.count >> 8), UInt8(credentialID.count & 0xFF)] + credentialID
            out += CBOREncoder.encode(coseKey)
        }
        return out
    }

    static func clientData(type: String, challenge: [UInt8], origin: String, crossOrigin: Bool = false) -> [UInt8] {
        Array(
            "{\"type\":\"\(type)\",\"challenge\":\"\(Base64URL.encode(challenge))\",\"origin\":\"\(origin)\",\"crossOrigin\":\(crossOrigin)}"
                .utf8)
    }

    func sign(_ data: [UInt8]) -> [UInt8] {
        switch key {
        case .p256(let k): Array(try! k.signature(for: data).derRepresentation)
        case .ed25519(let k): Array(try! k.signature(for: data))
        }
    }

    /// A `navigator.credentials.create` answer; `fmt` none or packed (self attestation).
    func register(
        challenge: [UInt8], origin: String = "http://localhost:8420", flags: UInt8 = up | uv, fmt: String = "none",
        type: String = "webauthn.create"
    ) -> RelyingParty.Registration {
        let client = Self.clientData(type: type, challenge: challenge, origin: origin)
        let auth = authenticatorData(flags: flags, count: signCount, attested: true)
        var statement: CBOR = .map([:])
        if fmt == "packed" {
            let alg: Int64 = if case .p256 = key { -7 } else { -8 }
            statement = .map([.text("alg"): .integer(alg), .text("sig"): .bytes(sign(auth + Array(SHA256.hash(data: client))))])
        }
        let object = CBOREncoder.encode(.map([.text("fmt"): .text(fmt), .text("attStmt"): statement, .text("authData"): .bytes(auth)]))
        return .init(rawID: credentialID, clientDataJSON: client, attestationObject: object)
    }

    /// A `navigator.credentials.get` answer; each call counts one more signature.
    mutating func assert(
        challenge: [UInt8], origin: String = "http://localhost:8420", flags: UInt8 = up | uv, count: UInt32? = nil
    ) -> RelyingParty.Assertion {
        signCount = count ?? signCount + 1
        let client = Self.clientData(type: "webauthn.get", challenge: challenge, origin: origin)
        let auth = authenticatorData(flags: flags, count: signCount, attested: false)
        return .init(
            rawID: credentialID, clientDataJSON: client, authenticatorData: auth, signature: sign(auth + Array(SHA256.hash(data: client))),
            userHandle: userHandle.isEmpty ? nil : userHandle)
    }
}
