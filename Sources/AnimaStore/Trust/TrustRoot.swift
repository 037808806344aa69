import Foundation

/// The verified contents of the trust store: which publishers' keys are trusted, for what,
/// until when, and which were revoked.
///
/// TUF-style, kept small: one root role (a key on this machine that signs the root), and
/// publisher keys with roles `packages` (sign packages) and `index` (sign registry
/// indexes). The root itself has a version and an expiry.
public struct TrustRoot: Sendable {
    public struct Publisher: Sendable, Hashable, Codable {
        public var name: String
        /// The PEM public key.
        public var key: String
        public var hint: String
        public var roles: [String]
        public var added: Date
        public var expires: Date?
        public var revoked: Date?

        public func publicKey() throws(StoreError) -> PublicKey { try PublicKey(pem: key) }
    }

    public static let roles = ["packages", "index"]

    public var version: Int
    public var expires: Date
    public var publishers: [Publisher]

    public static let empty = TrustRoot(version: 0, expires: .distantFuture, publishers: [])

    /// The trusted key of `name` for `role`, or why there is none.
    public func publisher(_ name: String, role: String = "packages", now: Date = Date()) throws(StoreError) -> Publisher {
        guard let p = publishers.first(where: { $0.name == name }) else { throw .unknownPublisher(name) }
        try check(p, role: role, now: now)
        return p
    }

    /// The trusted publisher whose key has `hint`, for `role`.
    public func signer(hint: String, role: String, now: Date = Date()) throws(StoreError) -> Publisher {
        guard let p = publishers.first(where: { $0.hint == hint }) else { throw .unknownPublisher("key " + hint.prefix(16)) }
        try check(p, role: role, now: now)
        return p
    }

    private func check(_ p: Publisher, role: String, now: Date) throws(StoreError) {
        if p.revoked != nil { throw .keyRevoked(publisher: p.name) }
        if let e = p.expires, e <= now { throw .keyExpired(publisher: p.name, expired: e.formatted(.iso8601)) }
        guard p.roles.contains(role) else {
            throw .roleNotTrusted(publisher: p.name, roles: p.roles, role: role)
        }
    }
}
