/// Why a passkey registration or sign-in was refused. Each message says what was wrong;
/// the console shows it to the person at the browser.
public enum WebAuthnError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case cbor(CBORError)
    case wrongType(expected: String, got: String)
    case challengeMismatch
    case unknownChallenge
    case wrongOrigin(String)
    case crossOrigin
    case wrongRelyingParty
    case userNotPresent
    case userNotVerified
    case unsupportedAlgorithm(Int64)
    case unsupportedKey(String)
    case unsupportedAttestation(String)
    case badAttestation(String)
    case badSignature
    case credentialMismatch
    case unknownCredential
    case signCountRollback(stored: UInt32, presented: UInt32)

    public var description: String {
        switch self {
        case .malformed(let what): "the passkey response is malformed: \(what)"
        case .cbor(let error): "the passkey response is malformed: \(error)"
        case .wrongType(let expected, let got): "the client data is of type \(got), expected \(expected)"
        case .challengeMismatch: "the response answers a different challenge; reload the page and try again"
        case .unknownChallenge: "the challenge is unknown, used or expired; reload the page and try again"
        case .wrongOrigin(let origin): "the response comes from origin \(origin), which this console does not serve"
        case .crossOrigin: "the response was made in a cross-origin frame, which the console does not allow"
        case .wrongRelyingParty: "the passkey was made for another site (relying party id)"
        case .userNotPresent: "the authenticator did not confirm that a person was present"
        case .userNotVerified: "the authenticator did not verify the user (PIN or biometric); the console requires it"
        case .unsupportedAlgorithm(let alg): "the key algorithm \(alg) is not supported; use ES256 (-7) or EdDSA (-8)"
        case .unsupportedKey(let why): "the credential public key is not usable: \(why)"
        case .unsupportedAttestation(let fmt): "attestation format \(fmt) is not supported; use none or packed"
        case .badAttestation(let why): "the attestation statement does not verify: \(why)"
        case .badSignature: "the signature does not verify"
        case .credentialMismatch: "the credential id in the response does not match the authenticator data"
        case .unknownCredential: "this passkey is not registered here; enroll it with a code from `anima web enroll`"
        case .signCountRollback(let stored, let presented):
            "the authenticator's sign count went from \(stored) to \(presented): it may be cloned, so it is refused"
        }
    }
}
