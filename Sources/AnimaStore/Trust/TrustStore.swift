import AnimaCore
import Foundation

/// The trust store on disk: `root.json` (the signed `TrustRoot`) and `root-key.pem`, the
/// machine's root key that signs it (mode 0600).
///
/// Every change re-signs the root with a higher version and a fresh expiry; loading
/// checks the signature, the root key's hint, the expiry and the version counter kept
/// beside it, so an edited, expired or rolled-back root is refused.
public struct TrustStore: Sendable {
    public let directory: URL
    /// How long a re-signed root stays valid.
    public var lifetime: TimeInterval = 365 * 86400
    /// Where changes to the root are recorded (nil: nowhere, as in tests of the root itself).
    public var audit: StoreAudit?

    public init(directory: URL, audit: StoreAudit? = nil) {
        self.directory = directory
        self.audit = audit
    }

    var rootFile: URL { directory.appendingPathComponent("root.json") }
    var keyFile: URL { directory.appendingPathComponent("root-key.pem") }
    var versionFile: URL { directory.appendingPathComponent("root.version") }

    /// The verified root; an empty one when nothing was ever trusted.
    public func load(now: Date = Date()) throws(StoreError) -> TrustRoot {
        guard let envelope = try readFile(rootFile) else {
            if FileManager.default.fileExists(atPath: versionFile.path) {
                throw .trustRoot("root.json is missing but the store had version \(seenVersion()); restore it from a backup")
            }
            return .empty
        }
        guard let keyPEM = try readFile(keyFile) else { throw .trustRoot("the root key root-key.pem is missing") }
        let rootKey = try SigningKey(pem: String(decoding: keyPEM, as: UTF8.self)).publicKey
        guard let json = try? JSONSerialization.jsonObject(with: envelope) as? [String: Any],
            let payloadText = json["signed"] as? String, let payload = Data(base64Encoded: payloadText),
            let sigText = json["signature"] as? String, let sig = Data(base64Encoded: sigText)
        else { throw .trustRoot("root.json is not a signed root envelope") }
        guard json["keyHint"] as? String == rootKey.hint, rootKey.isValid(signature: sig, for: payload) else {
            throw .trustRoot("root.json's signature does not verify with the root key; it was edited outside `anima store trust`")
        }
        guard let root = try? Self.decoder.decode(Signed.self, from: payload), root._type == "anima-trust-root" else {
            throw .trustRoot("root.json's signed part is not a trust root")
        }
        guard root.rootKeys == [rootKey.hint] else { throw .trustRoot("the root role does not name this machine's root key") }
        guard root.expires > now else {
            throw .trustRoot("it expired on \(root.expires.formatted(.iso8601)); re-sign it with `anima store trust renew`")
        }
        guard root.version >= seenVersion() else {
            throw .trustRoot("version \(root.version) is older than version \(seenVersion()) seen before (a rolled-back root)")
        }
        return TrustRoot(version: root.version, expires: root.expires, publishers: root.publishers)
    }

    /// Trusts `pem` as the key of `name` for `roles`, replacing an earlier key of that name.
    @discardableResult
    public func add(_ name: String, pem: String, roles: [String] = TrustRoot.roles, expires: Date? = nil, now: Date = Date())
        throws(StoreError) -> TrustRoot.Publisher
    {
        guard PackageManifest.isPackageName(name) else { throw .trustRoot("\"\(name)\" is not a valid publisher name") }
        for role in roles where !TrustRoot.roles.contains(role) {
            throw .trustRoot("unknown role \(role); use \(TrustRoot.roles.joined(separator: " or "))")
        }
        let key = try PublicKey(pem: pem)
        var root = try load(now: now)
        if let other = root.publishers.first(where: { $0.hint == key.hint && $0.name != name }) {
            throw .trustRoot("that key already belongs to \(other.name)")
        }
        let publisher = TrustRoot.Publisher(
            name: name, key: key.pem, hint: key.hint, roles: roles, added: now, expires: expires, revoked: nil)
        root.publishers.removeAll { $0.name == name }
        root.publishers.append(publisher)
        try recorded(
            "store.trust.add",
            "publisher \(name) key \(key.hint.prefix(16)) roles \(roles.joined(separator: ","))"
                + (expires.map { " expires \($0.formatted(.iso8601))" } ?? ""), root, now: now)
        return publisher
    }

    /// Revokes `name`'s key: nothing it signed is accepted any more, installed or not.
    public func revoke(_ name: String, now: Date = Date()) throws(StoreError) {
        var root = try load(now: now)
        guard let i = root.publishers.firstIndex(where: { $0.name == name }) else { throw .unknownPublisher(name) }
        root.publishers[i].revoked = now
        try recorded("store.trust.revoke", "publisher \(name) key \(root.publishers[i].hint.prefix(16))", root, now: now)
    }

    /// Re-signs the root with a fresh expiry.
    public func renew(now: Date = Date()) throws(StoreError) {
        var root = try load(now: .distantPast)
        root.expires = now
        try recorded("store.trust.renew", "trust root re-signed after version \(root.version)", root, now: now)
    }

    /// Records a change, then makes it: a change the log cannot hold is not made, and a
    /// write that fails after the record is recorded as failed.
    private func recorded(_ action: String, _ summary: String, _ root: TrustRoot, now: Date) throws(StoreError) {
        try audit?.record(action, summary)
        do {
            try write(root, now: now)
        } catch {
            try? audit?.record(action, summary, outcome: .failed, detail: error.description)
            throw error
        }
    }

    private struct Signed: Codable {
        var _type: String
        var version: Int
        var expires: Date
        var rootKeys: [String]
        var publishers: [TrustRoot.Publisher]
    }

    private func write(_ root: TrustRoot, now: Date) throws(StoreError) {
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch { throw .trustRoot("cannot create \(directory.path): \(error)") }
        let key: SigningKey
        if let pem = try readFile(keyFile) {
            key = try SigningKey(pem: String(decoding: pem, as: UTF8.self))
        } else {
            key = .generate()
            try durable(Data(key.pem.utf8), keyFile)
        }
        let version = max(root.version, seenVersion()) + 1
        let signed = Signed(
            _type: "anima-trust-root", version: version, expires: now.addingTimeInterval(lifetime), rootKeys: [key.publicKey.hint],
            publishers: root.publishers)
        guard let payload = try? Self.encoder.encode(signed) else { throw .trustRoot("cannot encode the root") }
        let envelope: [String: Any] = [
            "signed": payload.base64EncodedString(), "keyHint": key.publicKey.hint, "signature": key.sign(payload).base64EncodedString(),
        ]
        let data = (try? JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        try durable(data, rootFile)
        try durable(Data("\(version)\n".utf8), versionFile)
    }

    private func seenVersion() -> Int {
        (try? readFile(versionFile)).flatMap { $0 }.flatMap {
            Int(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        } ?? 0
    }

    private func readFile(_ url: URL) throws(StoreError) -> Data? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try PackageVerifier.readRegular(url)
    }

    private func durable(_ data: Data, _ url: URL) throws(StoreError) {
        do { try DurableFile.write(data, to: url) } catch { throw .trustRoot("cannot write \(url.path): \(error)") }
    }

    static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys]
        return e
    }
    static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }
}
