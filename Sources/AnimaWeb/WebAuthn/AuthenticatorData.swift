/// The authenticator's own statement (WebAuthn §6.1): which site, what it checked, its
/// counter, and at registration the new credential.
public struct AuthenticatorData: Sendable {
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let userPresent = Flags(rawValue: 0x01)
        public static let userVerified = Flags(rawValue: 0x04)
        public static let backupEligible = Flags(rawValue: 0x08)
        public static let backedUp = Flags(rawValue: 0x10)
        public static let attestedCredential = Flags(rawValue: 0x40)
        public static let extensions = Flags(rawValue: 0x80)
    }

    public struct AttestedCredential: Sendable {
        public let aaguid: [UInt8]
        public let id: [UInt8]
        public let publicKey: COSEKey
    }

    public let rpIDHash: [UInt8]
    public let flags: Flags
    public let signCount: UInt32
    public let credential: AttestedCredential?
    public let raw: [UInt8]

    /// The longest credential id the spec allows.
    public static let maxCredentialIDLength = 1023

    /// Parses `bytes`, which must hold exactly what the flags announce.
    public init(_ bytes: [UInt8]) throws(WebAuthnError) {
        guard bytes.count >= 37 else { throw .malformed("authenticator data is \(bytes.count) bytes, fewer than 37") }
        raw = bytes
        rpIDHash = Array(bytes[0..<32])
        flags = Flags(rawValue: bytes[32])
        signCount = bytes[33..<37].reduce(0) { $0 << 8 | UInt32($1) }
        var offset = 37
        if flags.contains(.attestedCredential) {
            guard bytes.count >= offset + 18 else { throw .malformed("attested credential data is truncated") }
            let aaguid = Array(bytes[offset..<offset + 16])
            let idLength = Int(bytes[offset + 16]) << 8 | Int(bytes[offset + 17])
            offset += 18
            guard idLength <= Self.maxCredentialIDLength else { throw .malformed("credential id longer than 1023 bytes") }
            guard bytes.count >= offset + idLength else { throw .malformed("credential id is truncated") }
            let id = Array(bytes[offset..<offset + idLength])
            offset += idLength
            let key: CBOR, used: Int
            do { (key, used) = try CBORDecoder.decodePrefix(bytes[offset...]) } catch { throw .cbor(error) }
            credential = AttestedCredential(
                aaguid: aaguid, id: id, publicKey: try COSEKey(key, encoded: Array(bytes[offset..<offset + used])))
            offset += used
        } else {
            credential = nil
        }
        if flags.contains(.extensions) {
            let ext: CBOR, used: Int
            do { (ext, used) = try CBORDecoder.decodePrefix(bytes[offset...]) } catch { throw .cbor(error) }
            guard case .map = ext else { throw .malformed("extensions are not a CBOR map") }
            offset += used
        }
        guard offset == bytes.count else { throw .malformed("\(bytes.count - offset) unexpected byte(s) after the authenticator data") }
        if flags.contains(.backedUp) && !flags.contains(.backupEligible) {
            throw .malformed("the backed-up flag is set on a credential that is not backup-eligible")
        }
    }
}
