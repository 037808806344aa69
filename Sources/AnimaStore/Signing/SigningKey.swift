import AnimaCore
import Crypto
import Foundation

/// An ECDSA P-256 private key that signs packages, registry indexes or the trust root.
public struct SigningKey: Sendable {
    let key: P256.Signing.PrivateKey

    public static func generate() -> SigningKey { SigningKey(key: P256.Signing.PrivateKey()) }

    /// Reads a PEM private key (`openssl ecparam -name prime256v1 -genkey` or PKCS#8).
    public init(pem: String) throws(StoreError) {
        do {
            key = try P256.Signing.PrivateKey(pemRepresentation: pem)
        } catch {
            throw .bundle("the private key is not a PEM ECDSA P-256 key (\(error)); make one with `anima store keygen`")
        }
    }

    init(key: P256.Signing.PrivateKey) { self.key = key }

    public var pem: String { key.pemRepresentation.trimmingCharacters(in: .whitespacesAndNewlines) + "\n" }
    public var publicKey: PublicKey { PublicKey(key: key.publicKey) }

    /// A DER-encoded ECDSA signature over SHA-256 of `data`.
    public func sign(_ data: Data) -> Data {
        // swift-crypto only fails here if the key is unusable, which init rules out.
        (try? key.signature(for: data).derRepresentation) ?? Data()
    }
}

/// An ECDSA P-256 public key and its hint: the SHA-256 of its PEM text, as model-signing
/// records it in a bundle's verification material.
public struct PublicKey: Sendable, Hashable {
    let key: P256.Signing.PublicKey

    public init(pem: String) throws(StoreError) {
        do {
            key = try P256.Signing.PublicKey(pemRepresentation: pem)
        } catch {
            throw .bundle("the public key is not a PEM ECDSA P-256 key (\(error))")
        }
    }

    init(key: P256.Signing.PublicKey) { self.key = key }

    /// SubjectPublicKeyInfo PEM with 64-column lines and a final newline (what Python's
    /// `cryptography` writes), so the hint is the same on both sides.
    public var pem: String { key.pemRepresentation.trimmingCharacters(in: .whitespacesAndNewlines) + "\n" }
    public var hint: String { Hex.encode(SHA256.hash(data: Data(pem.utf8))) }

    public func isValid(signature der: Data, for data: Data) -> Bool {
        guard let sig = try? P256.Signing.ECDSASignature(derRepresentation: der) else { return false }
        return key.isValidSignature(sig, for: data)
    }

    public static func == (a: PublicKey, b: PublicKey) -> Bool { a.key.rawRepresentation == b.key.rawRepresentation }
    public func hash(into hasher: inout Hasher) { hasher.combine(key.rawRepresentation) }
}
