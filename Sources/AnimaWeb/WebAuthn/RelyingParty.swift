import Crypto
import Foundation
import X509

/// The server side of WebAuthn (Level 3 §7): checks a registration or a sign-in against
/// what this console expects. Pure: no storage, no clock but the one passed in; the
/// caller keeps challenges single-use and stores the sign count it returns.
public struct RelyingParty: Sendable {
    /// The relying party id: the site's host name (`localhost`, `anima.example.com`).
    public var id: String
    /// Whether the authenticator must verify the user (PIN or biometric), not only see one.
    public var requireUserVerification: Bool
    /// DER certificates that `packed` attestation chains (x5c) must lead to; with none,
    /// such a chain cannot verify and is refused.
    public var attestationRoots: [Certificate]

    public init(id: String, requireUserVerification: Bool = true, attestationRoots: [Certificate] = []) {
        self.id = id
        self.requireUserVerification = requireUserVerification
        self.attestationRoots = attestationRoots
    }

    /// What the browser sent back from `navigator.credentials.create`.
    public struct Registration: Sendable {
        public var rawID: [UInt8]
        public var clientDataJSON: [UInt8]
        public var attestationObject: [UInt8]
        public init(rawID: [UInt8], clientDataJSON: [UInt8], attestationObject: [UInt8]) {
            self.rawID = rawID
            self.clientDataJSON = clientDataJSON
            self.attestationObject = attestationObject
        }
    }

    /// What the browser sent back from `navigator.credentials.get`.
    public struct Assertion: Sendable {
        public var rawID: [UInt8]
        public var clientDataJSON: [UInt8]
        public var authenticatorData: [UInt8]
        public var signature: [UInt8]
        public var userHandle: [UInt8]?
        public init(rawID: [UInt8], clientDataJSON: [UInt8], authenticatorData: [UInt8], signature: [UInt8], userHandle: [UInt8]?) {
            self.rawID = rawID
            self.clientDataJSON = clientDataJSON
            self.authenticatorData = authenticatorData
            self.signature = signature
            self.userHandle = userHandle
        }
    }

    /// How the authenticator vouched for its key.
    public enum AttestationType: String, Sendable, Codable {
        /// No statement (`none`): the usual choice for a console.
        case none
        /// `packed` signed with the credential's own key.
        case selfAttestation = "self"
        /// `packed` with a certificate chain that led to one of `attestationRoots`.
        case basic
    }

    /// A credential that registration accepted: store it with its owner.
    public struct VerifiedCredential: Sendable {
        public var id: [UInt8]
        public var publicKey: COSEKey
        public var signCount: UInt32
        public var aaguid: [UInt8]
        public var userVerified: Bool
        public var backupEligible: Bool
        public var attestation: AttestationType
    }

    /// Checks a registration answering `challenge` from one of `origins` (§7.1).
    public func verifyRegistration(
        _ response: Registration, challenge: [UInt8], origins: Set<String>, now: Date = Date()
    ) async throws(WebAuthnError) -> VerifiedCredential {
        let client = try ClientData(response.clientDataJSON)
        try check(client, type: "webauthn.create", challenge: challenge, origins: origins)
        let object: CBOR
        do { object = try CBORDecoder.decode(response.attestationObject) } catch { throw .cbor(error) }
        guard let fmt = object["fmt"]?.string, let statement = object["attStmt"], case .map = statement,
            let authBytes = object["authData"]?.byteString
        else { throw .malformed("the attestation object needs fmt, attStmt and authData") }
        let auth = try AuthenticatorData(authBytes)
        try check(auth)
        guard let credential = auth.credential else { throw .malformed("registration carries no attested credential data") }
        guard credential.id == response.rawID else { throw .credentialMismatch }
        let signed = authBytes + Array(SHA256.hash(data: response.clientDataJSON))
        let attestation: AttestationType
        switch fmt {
        case "none":
            guard statement == .map([:]) else { throw .badAttestation("a none statement must be empty") }
            attestation = .none
        case "packed":
            attestation = try await verifyPacked(statement, signed: signed, credential: credential, now: now)
        default: throw .unsupportedAttestation(fmt)
        }
        return VerifiedCredential(
            id: credential.id, publicKey: credential.publicKey, signCount: auth.signCount, aaguid: credential.aaguid,
            userVerified: auth.flags.contains(.userVerified), backupEligible: auth.flags.contains(.backupEligible),
            attestation: attestation)
    }

    /// Checks a sign-in with a stored credential (§7.2); returns the new sign count to store.
    /// A count that does not grow (when either is non-zero) means a cloned authenticator.
    /// - Parameter userHandle: the credential owner's handle, checked when the response names one.
    public func verifyAssertion(
        _ response: Assertion, challenge: [UInt8], origins: Set<String>, credentialID: [UInt8], publicKey: COSEKey,
        storedSignCount: UInt32, userHandle: [UInt8]?
    ) throws(WebAuthnError) -> UInt32 {
        guard response.rawID == credentialID else { throw .unknownCredential }
        if let presented = response.userHandle, !presented.isEmpty, presented != userHandle { throw .credentialMismatch }
        let client = try ClientData(response.clientDataJSON)
        try check(client, type: "webauthn.get", challenge: challenge, origins: origins)
        let auth = try AuthenticatorData(response.authenticatorData)
        try check(auth)
        let signed = response.authenticatorData + Array(SHA256.hash(data: response.clientDataJSON))
        guard publicKey.verify(signature: response.signature, of: signed) else { throw .badSignature }
        if (auth.signCount != 0 || storedSignCount != 0) && auth.signCount <= storedSignCount {
            throw .signCountRollback(stored: storedSignCount, presented: auth.signCount)
        }
        return auth.signCount
    }

    private func check(_ client: ClientData, type: String, challenge: [UInt8], origins: Set<String>) throws(WebAuthnError) {
        guard client.type == type else { throw .wrongType(expected: type, got: client.type) }
        guard constantTimeEqual(client.challenge, challenge) else { throw .challengeMismatch }
        guard origins.contains(client.origin) else { throw .wrongOrigin(client.origin) }
        guard !client.crossOrigin else { throw .crossOrigin }
    }

    private func check(_ auth: AuthenticatorData) throws(WebAuthnError) {
        guard constantTimeEqual(auth.rpIDHash, Array(SHA256.hash(data: Array(id.utf8)))) else { throw .wrongRelyingParty }
        guard auth.flags.contains(.userPresent) else { throw .userNotPresent }
        if requireUserVerification && !auth.flags.contains(.userVerified) { throw .userNotVerified }
    }

    /// `packed` (§8.2): self attestation with the credential key, or a certificate chain.
    private func verifyPacked(
        _ statement: CBOR, signed: [UInt8], credential: AuthenticatorData.AttestedCredential, now: Date
    ) async throws(WebAuthnError) -> AttestationType {
        guard let alg = statement["alg"]?.int, let sig = statement["sig"]?.byteString else {
            throw .badAttestation("a packed statement needs alg and sig")
        }
        guard let chain = statement["x5c"] else {
            guard alg == credential.publicKey.algorithm.rawValue else {
                throw .badAttestation("self attestation's algorithm \(alg) differs from the key's")
            }
            guard credential.publicKey.verify(signature: sig, of: signed) else {
                throw .badAttestation("the self-signature does not verify")
            }
            return .selfAttestation
        }
        guard case .array(let items) = chain, !items.isEmpty, items.count <= 8 else {
            throw .badAttestation("x5c must hold one to eight certificates")
        }
        var certificates: [Certificate] = []
        for item in items {
            guard let der = item.byteString, let certificate = try? Certificate(derEncoded: der) else {
                throw .badAttestation("x5c holds something that is not a DER certificate")
            }
            certificates.append(certificate)
        }
        let leaf = certificates[0]
        guard alg == COSEKey.Algorithm.es256.rawValue, let key = P256.Signing.PublicKey(leaf.publicKey) else {
            throw .badAttestation("only ES256 attestation certificates are supported")
        }
        guard let signature = try? P256.Signing.ECDSASignature(derRepresentation: sig),
            key.isValidSignature(signature, for: SHA256.hash(data: signed))
        else { throw .badAttestation("the signature does not verify under the attestation certificate") }
        // §8.2.1: version 3, OU "Authenticator Attestation", not a CA.
        guard leaf.version == .v3 else { throw .badAttestation("the attestation certificate is not X.509 version 3") }
        let units = leaf.subject.flatMap { $0 }.filter { $0.type == .RDNAttributeType.organizationalUnitName }.compactMap {
            String($0.value)
        }
        guard units.contains("Authenticator Attestation") else {
            throw .badAttestation("the attestation certificate's OU is not \"Authenticator Attestation\"")
        }
        if let constraints = try? leaf.extensions.basicConstraints, case .isCertificateAuthority = constraints {
            throw .badAttestation("the attestation certificate is a CA")
        }
        guard !attestationRoots.isEmpty else { throw .badAttestation("no attestation roots are configured, so the chain cannot verify") }
        var verifier = Verifier(rootCertificates: CertificateStore(attestationRoots)) { RFC5280Policy(validationTime: now) }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(Array(certificates.dropFirst())))
        guard case .validCertificate = result else { throw .badAttestation("the certificate chain does not lead to a trusted root") }
        return .basic
    }
}

/// Compares secrets without stopping at the first difference.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
}
