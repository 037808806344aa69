import AnimaWeb
import Crypto
import Foundation
import Testing
import X509

/// The relying party's checks, against a software authenticator that can misbehave.
@Suite struct WebAuthnTests {
    let rp = RelyingParty(id: "localhost")
    let origins: Set<String> = ["http://localhost:8420"]
    let challenge = (0..<32).map { _ in UInt8.random(in: 0...255) }

    func expectRefusal(_ expected: WebAuthnError, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected \(expected), but it was accepted")
        } catch let error as WebAuthnError {
            #expect(error == expected)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test(arguments: [COSEKey.Algorithm.es256, .edDSA])
    func registrationThenSignInAreAccepted(_ alg: COSEKey.Algorithm) async throws {
        var authenticator = SoftwareAuthenticator(alg)
        let credential = try await rp.verifyRegistration(
            authenticator.register(challenge: challenge), challenge: challenge, origins: origins)
        #expect(credential.id == authenticator.credentialID)
        #expect(credential.publicKey.algorithm == alg)
        #expect(credential.attestation == .none)
        #expect(credential.userVerified)
        let count = try rp.verifyAssertion(
            authenticator.assert(challenge: challenge), challenge: challenge, origins: origins, credentialID: credential.id,
            publicKey: try COSEKey(encoded: credential.publicKey.encoded), storedSignCount: 0, userHandle: nil)
        #expect(count == 1)
    }

    @Test func aBadSignatureIsRefused() async throws {
        var authenticator = SoftwareAuthenticator()
        let credential = try await rp.verifyRegistration(
            authenticator.register(challenge: challenge), challenge: challenge, origins: origins)
        var assertion = authenticator.assert(challenge: challenge)
        assertion.signature[assertion.signature.count - 3] ^= 0x01
        await expectRefusal(.badSignature) {
            _ = try rp.verifyAssertion(
                assertion, challenge: challenge, origins: origins, credentialID: credential.id, publicKey: credential.publicKey,
                storedSignCount: 0, userHandle: nil)
        }
        // Another key's valid signature is just as wrong.
        var other = SoftwareAuthenticator()
        other.credentialID = authenticator.credentialID
        await expectRefusal(.badSignature) {
            _ = try rp.verifyAssertion(
                other.assert(challenge: challenge), challenge: challenge, origins: origins, credentialID: credential.id,
                publicKey: credential.publicKey, storedSignCount: 0, userHandle: nil)
        }
    }

    @Test func originRelyingPartyTypeAndChallengeAreChecked() async throws {
        let authenticator = SoftwareAuthenticator()
        await expectRefusal(.wrongOrigin("http://evil.example:8420")) {
            _ = try await rp.verifyRegistration(
                authenticator.register(challenge: challenge, origin: "http://evil.example:8420"), challenge: challenge, origins: origins)
        }
        await expectRefusal(.wrongRelyingParty) {
            _ = try await rp.verifyRegistration(
                SoftwareAuthenticator(rpID: "evil.example").register(challenge: challenge), challenge: challenge, origins: origins)
        }
        await expectRefusal(.wrongType(expected: "webauthn.create", got: "webauthn.get")) {
            _ = try await rp.verifyRegistration(
                authenticator.register(challenge: challenge, type: "webauthn.get"), challenge: challenge, origins: origins)
        }
        await expectRefusal(.challengeMismatch) {
            _ = try await rp.verifyRegistration(
                authenticator.register(challenge: challenge), challenge: challenge.reversed(), origins: origins)
        }
    }

    @Test func presenceAndVerificationFlagsAreRequired() async throws {
        let authenticator = SoftwareAuthenticator()
        await expectRefusal(.userNotVerified) {
            _ = try await rp.verifyRegistration(
                authenticator.register(challenge: challenge, flags: SoftwareAuthenticator.up), challenge: challenge, origins: origins)
        }
        await expectRefusal(.userNotPresent) {
            _ = try await rp.verifyRegistration(
                authenticator.register(challenge: challenge, flags: SoftwareAuthenticator.uv), challenge: challenge, origins: origins)
        }
        // Without the requirement, presence alone will do.
        let lenient = RelyingParty(id: "localhost", requireUserVerification: false)
        let credential = try await lenient.verifyRegistration(
            authenticator.register(challenge: challenge, flags: SoftwareAuthenticator.up), challenge: challenge, origins: origins)
        #expect(!credential.userVerified)
    }

    @Test func aCrossOriginFrameIsRefused() async throws {
        var registration = SoftwareAuthenticator().register(challenge: challenge)
        registration.clientDataJSON = SoftwareAuthenticator.clientData(
            type: "webauthn.create", challenge: challenge, origin: "http://localhost:8420", crossOrigin: true)
        await expectRefusal(.crossOrigin) { _ = try await rp.verifyRegistration(registration, challenge: challenge, origins: origins) }
    }

    @Test func aSignCountThatDoesNotGrowIsACloneAndRefused() async throws {
        var authenticator = SoftwareAuthenticator()
        let credential = try await rp.verifyRegistration(
            authenticator.register(challenge: challenge), challenge: challenge, origins: origins)
        func check(_ assertion: RelyingParty.Assertion, stored: UInt32) throws -> UInt32 {
            try rp.verifyAssertion(
                assertion, challenge: challenge, origins: origins, credentialID: credential.id, publicKey: credential.publicKey,
                storedSignCount: stored, userHandle: nil)
        }
        #expect(try check(authenticator.assert(challenge: challenge, count: 7), stored: 6) == 7)
        await expectRefusal(.signCountRollback(stored: 7, presented: 3)) {
            _ = try check(authenticator.assert(challenge: challenge, count: 3), stored: 7)
        }
        await expectRefusal(.signCountRollback(stored: 7, presented: 7)) {
            _ = try check(authenticator.assert(challenge: challenge, count: 7), stored: 7)
        }
        // Authenticators without a counter always say 0: allowed while the stored count is 0.
        #expect(try check(authenticator.assert(challenge: challenge, count: 0), stored: 0) == 0)
        await expectRefusal(.signCountRollback(stored: UInt32.max, presented: 0)) {
            _ = try check(authenticator.assert(challenge: challenge, count: 0), stored: UInt32.max)
        }
    }

    @Test func aUserHandleMustMatchItsCredential() async throws {
        var authenticator = SoftwareAuthenticator()
        authenticator.userHandle = [1, 2, 3]
        let credential = try await rp.verifyRegistration(
            authenticator.register(challenge: challenge), challenge: challenge, origins: origins)
        await expectRefusal(.credentialMismatch) {
            _ = try rp.verifyAssertion(
                authenticator.assert(challenge: challenge), challenge: challenge, origins: origins, credentialID: credential.id,
                publicKey: credential.publicKey, storedSignCount: 0, userHandle: [9, 9, 9])
        }
    }

    @Test(arguments: [COSEKey.Algorithm.es256, .edDSA])
    func packedSelfAttestationVerifies(_ alg: COSEKey.Algorithm) async throws {
        let authenticator = SoftwareAuthenticator(alg)
        let credential = try await rp.verifyRegistration(
            authenticator.register(challenge: challenge, fmt: "packed"), challenge: challenge, origins: origins)
        #expect(credential.attestation == .selfAttestation)
        // A statement signed by another key is refused.
        var registration = authenticator.register(challenge: challenge, fmt: "packed")
        let other = SoftwareAuthenticator(alg).register(challenge: challenge, fmt: "packed")
        var object = try CBORDecoder.decode(registration.attestationObject)
        guard case .map(var map) = object, case .map(let theirs) = try CBORDecoder.decode(other.attestationObject) else { return }
        map[.text("attStmt")] = theirs[.text("attStmt")]
        object = .map(map)
        registration.attestationObject = CBOREncoder.encode(object)
        await expectRefusal(.badAttestation("the self-signature does not verify")) {
            _ = try await rp.verifyRegistration(registration, challenge: challenge, origins: origins)
        }
    }

    @Test func packedCertificateChainsVerifyOnlyToAConfiguredRoot() async throws {
        let now = Date()
        let rootKey = P256.Signing.PrivateKey(), attestationKey = P256.Signing.PrivateKey()
        let rootName = try DistinguishedName { CommonName("Test Attestation Root") }
        let root = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(rootKey.publicKey), notValidBefore: now - 3600,
            notValidAfter: now + 3600, issuer: rootName, subject: rootName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                KeyUsage(keyCertSign: true)
            }, issuerPrivateKey: .init(rootKey))
        let leafName = try DistinguishedName {
            CountryName("US")
            OrganizationName("Anima Tests")
            OrganizationalUnitName("Authenticator Attestation")
            CommonName("Test Authenticator")
        }
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(attestationKey.publicKey), notValidBefore: now - 3600,
            notValidAfter: now + 3600, issuer: rootName, subject: leafName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions { Critical(BasicConstraints.notCertificateAuthority) }, issuerPrivateKey: .init(rootKey))
        let authenticator = SoftwareAuthenticator()
        var registration = authenticator.register(challenge: challenge)
        guard case .map(var map) = try CBORDecoder.decode(registration.attestationObject), let auth = map[.text("authData")]?.byteString
        else { return }
        let signed = auth + Array(SHA256.hash(data: registration.clientDataJSON))
        map[.text("fmt")] = .text("packed")
        map[.text("attStmt")] = .map([
            .text("alg"): .integer(-7), .text("sig"): .bytes(Array(try attestationKey.signature(for: signed).derRepresentation)),
            .text("x5c"): .array([.bytes(try leaf.serializeAsPEM().derBytes)]),
        ])
        registration.attestationObject = CBOREncoder.encode(.map(map))
        let trusting = RelyingParty(id: "localhost", attestationRoots: [root])
        #expect(try await trusting.verifyRegistration(registration, challenge: challenge, origins: origins).attestation == .basic)
        await expectRefusal(.badAttestation("no attestation roots are configured, so the chain cannot verify")) {
            _ = try await rp.verifyRegistration(registration, challenge: challenge, origins: origins)
        }
        let strangerKey = P256.Signing.PrivateKey()
        let stranger = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(strangerKey.publicKey), notValidBefore: now - 3600,
            notValidAfter: now + 3600, issuer: rootName, subject: rootName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions { Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil)) },
            issuerPrivateKey: .init(strangerKey))
        await expectRefusal(.badAttestation("the certificate chain does not lead to a trusted root")) {
            _ = try await RelyingParty(id: "localhost", attestationRoots: [stranger]).verifyRegistration(
                registration, challenge: challenge, origins: origins)
        }
    }

    @Test func hostileAuthenticatorDataIsRefused() throws {
        let authenticator = SoftwareAuthenticator()
        let good = authenticator.authenticatorData(flags: SoftwareAuthenticator.up, count: 1, attested: true)
        #expect(throws: WebAuthnError.self) { try AuthenticatorData(good + [0]) }  // trailing byte
        #expect(throws: WebAuthnError.self) { try AuthenticatorData(Array(good.prefix(36))) }
        #expect(throws: WebAuthnError.self) { try AuthenticatorData(Array(good.dropLast(1))) }
        var backedUp = authenticator.authenticatorData(flags: SoftwareAuthenticator.up | 0x10, count: 1, attested: false)
        #expect(throws: WebAuthnError.self) { try AuthenticatorData(backedUp) }
        backedUp[32] |= 0x80  // extensions announced, none present
        #expect(throws: WebAuthnError.self) { try AuthenticatorData(backedUp) }
        var longID = Array(good.prefix(37 + 16)) + [0xFF, 0xFF]
        longID += [UInt8](repeating: 0, count: 100)
        #expect(throws: WebAuthnError.self) { try AuthenticatorData(longID) }
    }

    @Test func unusableKeysAreRefused() throws {
        let offCurve: CBOR = .map([
            .integer(1): .integer(2), .integer(3): .integer(-7), .integer(-1): .integer(1),
            .integer(-2): .bytes([UInt8](repeating: 1, count: 32)),
            .integer(-3): .bytes([UInt8](repeating: 2, count: 32)),
        ])
        #expect(throws: WebAuthnError.unsupportedKey("the point is not on P-256")) { try COSEKey(offCurve, encoded: []) }
        let rsa: CBOR = .map([.integer(1): .integer(3), .integer(3): .integer(-257)])
        #expect(throws: WebAuthnError.unsupportedAlgorithm(-257)) { try COSEKey(rsa, encoded: []) }
        let mixed: CBOR = .map([
            .integer(1): .integer(2), .integer(3): .integer(-8), .integer(-1): .integer(6),
            .integer(-2): .bytes([UInt8](repeating: 1, count: 32)),
        ])
        #expect(throws: WebAuthnError.self) { try COSEKey(mixed, encoded: []) }
    }

    @Test func hostileClientDataIsRefused() {
        for text in [
            "", "[]", "{\"type\":1}", "{\"type\":\"webauthn.get\",\"challenge\":\"***\",\"origin\":\"x\"}",
            "{\"type\":\"webauthn.get\",\"challenge\":\"AA\",\"origin\":\"x\",\"crossOrigin\":\"yes\"}", "\u{FEFF}{",
        ] {
            #expect(throws: WebAuthnError.self) { try ClientData(Array(text.utf8)) }
        }
        #expect(throws: WebAuthnError.self) { try ClientData([UInt8](repeating: 0x20, count: 20_000)) }
        #expect(throws: WebAuthnError.self) { try ClientData([0xFF, 0xFE]) }
    }
}
