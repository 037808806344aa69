import Crypto

/// A credential public key in COSE form (RFC 9053): ES256 on P-256, or EdDSA on Ed25519.
public struct COSEKey: Sendable, Equatable {
    public enum Algorithm: Int64, Sendable, CaseIterable {
        case es256 = -7
        case edDSA = -8
    }

    public let algorithm: Algorithm
    /// The key as it came, kept so the stored credential is exactly what was registered.
    public let encoded: [UInt8]
    private let raw: [UInt8]

    /// Parses and checks a COSE key map: key type, curve and coordinate sizes must agree
    /// with the algorithm, and an ES256 point must lie on the curve.
    public init(_ value: CBOR, encoded: [UInt8]) throws(WebAuthnError) {
        guard case .map = value else { throw .unsupportedKey("it is not a CBOR map") }
        guard let alg = value[.integer(3)]?.int else { throw .unsupportedKey("it names no algorithm") }
        guard let algorithm = Algorithm(rawValue: alg) else { throw .unsupportedAlgorithm(alg) }
        let kty = value[.integer(1)]?.int, crv = value[.integer(-1)]?.int
        let x = value[.integer(-2)]?.byteString
        switch algorithm {
        case .es256:
            guard kty == 2, crv == 1 else { throw .unsupportedKey("ES256 needs an EC2 key on P-256") }
            guard let x, let y = value[.integer(-3)]?.byteString, x.count == 32, y.count == 32 else {
                throw .unsupportedKey("a P-256 key needs 32-byte x and y coordinates")
            }
            raw = [0x04] + x + y
            do { _ = try P256.Signing.PublicKey(x963Representation: raw) } catch { throw .unsupportedKey("the point is not on P-256") }
        case .edDSA:
            guard kty == 1, crv == 6 else { throw .unsupportedKey("EdDSA needs an OKP key on Ed25519") }
            guard let x, x.count == 32 else { throw .unsupportedKey("an Ed25519 key is 32 bytes") }
            raw = x
            do { _ = try Curve25519.Signing.PublicKey(rawRepresentation: raw) } catch { throw .unsupportedKey("not an Ed25519 key") }
        }
        self.algorithm = algorithm
        self.encoded = encoded
    }

    /// Parses a stored key.
    public init(encoded: [UInt8]) throws(WebAuthnError) {
        let value: CBOR
        do { value = try CBORDecoder.decode(encoded) } catch { throw .cbor(error) }
        try self.init(value, encoded: encoded)
    }

    /// Whether `signature` signs `data` under this key (ES256: ASN.1 DER; EdDSA: 64 bytes).
    public func verify(signature: [UInt8], of data: [UInt8]) -> Bool {
        switch algorithm {
        case .es256:
            guard let key = try? P256.Signing.PublicKey(x963Representation: raw),
                let sig = try? P256.Signing.ECDSASignature(derRepresentation: signature)
            else { return false }
            return key.isValidSignature(sig, for: SHA256.hash(data: data))
        case .edDSA:
            guard signature.count == 64, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { return false }
            return key.isValidSignature(signature, for: data)
        }
    }
}
