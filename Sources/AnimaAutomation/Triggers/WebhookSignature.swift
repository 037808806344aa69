import AnimaCore
import Crypto
import Foundation

/// The signature of a webhook call: `X-Anima-Signature: sha256=HEX`, the HMAC-SHA256 of the
/// raw body under the workflow's secret (the scheme GitHub and Stripe webhooks use).
public enum WebhookSignature {
    public static let header = "X-Anima-Signature"

    public static func sign(_ body: some DataProtocol, secret: String) -> String {
        let key = SymmetricKey(data: Array(secret.utf8))
        return "sha256=" + Hex.encode(HMAC<SHA256>.authenticationCode(for: body, using: key))
    }

    /// Checks a signature in constant time; throws `badSignature` saying what was wrong.
    public static func verify(_ body: some DataProtocol, signature: String?, secret: String) throws(WorkflowError) {
        guard let signature, !signature.isEmpty else {
            throw .badSignature("no \(header) header; sign the body with HMAC-SHA256 under the workflow's secret")
        }
        guard signature.hasPrefix("sha256="), let given = Hex.decode(String(signature.dropFirst(7))), given.count == 32 else {
            throw .badSignature("\(header) must be `sha256=` and 64 hex digits")
        }
        let key = SymmetricKey(data: Array(secret.utf8))
        guard HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: body, using: key) else {
            throw .badSignature("the signature does not match the body under this workflow's secret")
        }
    }
}
