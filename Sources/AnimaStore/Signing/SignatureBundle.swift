import AnimaCore
import Crypto
import Foundation

/// A package signature in OpenSSF model-signing's format (v1.0 predicate, key-based).
///
/// A Sigstore bundle v0.3 (JSON) holds a DSSE envelope whose payload is an in-toto
/// Statement v1: one subject (the package's name and a root digest) and a predicate that
/// lists every file's SHA-256. The root digest is the SHA-256 of the files' raw digests
/// concatenated in the listed order, names sorted. The signature is ECDSA P-256 over the
/// DSSE pre-authentication encoding; the verification material carries the key's hint.
/// `model_signing verify key` accepts what `sign` writes, and `open` accepts what
/// `model_signing sign key` writes.
public enum SignatureBundle {
    public static let fileName = "model.sig"
    public static let mediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
    public static let payloadType = "application/vnd.in-toto+json"
    public static let statementType = "https://in-toto.io/Statement/v1"
    public static let predicateType = "https://model_signing/signature/v1.0"

    /// What a verified signature says: the subject and every file's digest.
    public struct Statement: Sendable, Hashable {
        public var subject: String
        public var rootDigest: String
        /// Name → lowercase hex SHA-256, in the order listed.
        public var resources: [(name: String, digest: String)]

        public var digests: [String: String] { Dictionary(resources.map { ($0.name, $0.digest) }, uniquingKeysWith: { a, _ in a }) }

        public static func == (a: Statement, b: Statement) -> Bool {
            a.subject == b.subject && a.rootDigest == b.rootDigest && a.resources.elementsEqual(b.resources, by: { $0 == $1 })
        }
        public func hash(into hasher: inout Hasher) { hasher.combine(rootDigest) }
    }

    /// Hashes every file of `directory` (links refused, the signature file itself skipped)
    /// and returns the bundle's JSON, ready to be written as `model.sig`.
    public static func sign(directory: URL, subject: String, key: SigningKey) throws(StoreError) -> (bundle: Data, statement: Statement) {
        let files = try PackageFiles.list(directory, skipping: [fileName])
        var resources: [(name: String, digest: String)] = []
        for name in files.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            resources.append((name, try PackageFiles.sha256(directory.path + "/" + name)))
        }
        return sign(statement: Statement(subject: subject, rootDigest: rootDigest(resources), resources: resources), key: key)
    }

    /// Signs a statement already computed.
    public static func sign(statement: Statement, key: SigningKey) -> (bundle: Data, statement: Statement) {
        let payload: [String: Any] = [
            "_type": statementType,
            "subject": [["name": statement.subject, "digest": ["sha256": statement.rootDigest]]],
            "predicateType": predicateType,
            "predicate": [
                "serialization": [
                    "method": "files", "hash_type": "sha256", "allow_symlinks": false, "ignore_paths": [fileName],
                ],
                "resources": statement.resources.map { ["name": $0.name, "algorithm": "sha256", "digest": $0.digest] },
            ],
        ]
        let raw = (try? JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        let sig = key.sign(DSSE.preAuthenticationEncoding(payloadType: payloadType, payload: raw))
        let bundle: [String: Any] = [
            "mediaType": mediaType,
            "verificationMaterial": ["publicKey": ["hint": key.publicKey.hint], "tlogEntries": [Any]()],
            "dsseEnvelope": [
                "payload": raw.base64EncodedString(), "payloadType": payloadType,
                "signatures": [["sig": sig.base64EncodedString(), "keyid": ""]],
            ],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: bundle, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return (data, statement)
    }

    /// The root digest: SHA-256 over the raw file digests in the listed order.
    static func rootDigest(_ resources: [(name: String, digest: String)]) -> String {
        var h = SHA256()
        for r in resources { h.update(data: Hex.decode(r.digest) ?? []) }
        return Hex.encode(h.finalize())
    }

    /// The key hint a bundle names, without verifying anything (to pick the publisher).
    public static func hint(of data: Data) -> String? {
        let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        return ((json?["verificationMaterial"] as? [String: Any])?["publicKey"] as? [String: Any])?["hint"] as? String
    }

    /// Checks the bundle's form and signature with `key` and returns its statement.
    ///
    /// Checked, in order: media type, key hint, payload type, exactly one signature, the
    /// ECDSA signature over the DSSE encoding, statement type, predicate type, a single
    /// subject, the files serialization with SHA-256 and no links, every resource's name
    /// and digest, and the root digest against the resources.
    public static func open(_ data: Data, key: PublicKey) throws(StoreError) -> Statement {
        guard data.count < 64 << 20, let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw .bundle("not a JSON object")
        }
        guard json["mediaType"] as? String == mediaType else {
            throw .bundle("media type is \(json["mediaType"].map { "\($0)" } ?? "missing"), expected \(mediaType)")
        }
        if let hint = hint(of: data) {
            guard hint == key.hint else { throw .wrongKey(expectedHint: key.hint, gotHint: hint) }
        } else {
            throw .bundle("verificationMaterial.publicKey.hint is missing; re-sign with a current signer")
        }
        guard let envelope = json["dsseEnvelope"] as? [String: Any] else { throw .bundle("dsseEnvelope is missing") }
        guard envelope["payloadType"] as? String == payloadType else { throw .bundle("DSSE payload type is not \(payloadType)") }
        guard let payloadText = envelope["payload"] as? String, let payload = Data(base64Encoded: payloadText) else {
            throw .bundle("DSSE payload is not base64")
        }
        guard let sigs = envelope["signatures"] as? [[String: Any]], sigs.count == 1 else {
            throw .bundle("the envelope must hold exactly one signature")
        }
        guard let sigText = sigs[0]["sig"] as? String, let sig = Data(base64Encoded: sigText) else {
            throw .bundle("signature is not base64")
        }
        guard key.isValid(signature: sig, for: DSSE.preAuthenticationEncoding(payloadType: payloadType, payload: payload)) else {
            throw .badSignature("ECDSA P-256 over the DSSE envelope fails with the publisher's key")
        }
        return try statement(payload)
    }

    static func statement(_ payload: Data) throws(StoreError) -> Statement {
        guard let s = try? JSONSerialization.jsonObject(with: payload) as? [String: Any] else {
            throw .bundle("the payload is not a JSON object")
        }
        guard s["_type"] as? String == statementType else { throw .bundle("the payload is not an in-toto Statement v1") }
        guard s["predicateType"] as? String == predicateType else {
            throw .bundle("predicate type \(s["predicateType"].map { "\($0)" } ?? "missing") is not \(predicateType)")
        }
        guard let subjects = s["subject"] as? [[String: Any]], subjects.count == 1 else { throw .bundle("expected exactly one subject") }
        guard let subject = subjects[0]["name"] as? String, let root = (subjects[0]["digest"] as? [String: Any])?["sha256"] as? String
        else { throw .bundle("the subject has no name or sha256 digest") }
        guard let predicate = s["predicate"] as? [String: Any], let serialization = predicate["serialization"] as? [String: Any] else {
            throw .bundle("the predicate has no serialization")
        }
        guard serialization["method"] as? String == "files", serialization["hash_type"] as? String == "sha256" else {
            throw .bundle("only the \"files\" serialization with sha256 is accepted (not shards or other hashes)")
        }
        if let allow = serialization["allow_symlinks"] as? Bool, allow {
            throw .bundle("the signature allows symbolic links; packages may not hold any")
        }
        guard let list = predicate["resources"] as? [[String: Any]], list.count <= 100_000 else {
            throw .bundle("the predicate lists no resources")
        }
        var resources: [(name: String, digest: String)] = []
        var seen = Set<String>()
        for (i, r) in list.enumerated() {
            guard let name = r["name"] as? String, r["algorithm"] as? String == "sha256", let digest = r["digest"] as? String,
                digest.count == 64, Hex.isLowercaseHex(digest)
            else { throw .bundle("resource \(i) is not a name with a lowercase sha256 digest") }
            do {
                try PackageManifest.checkRelativePath(name, field: "resources[\(i)]")
            } catch {
                throw .bundle("resource name \"\(name)\" is not a path inside the package")
            }
            guard seen.insert(name).inserted, name != fileName else {
                throw .bundle("resource \(name) is listed twice or is the signature")
            }
            resources.append((name, digest))
        }
        let actual = rootDigest(resources)
        guard actual == root else {
            throw .badSignature("the root digest \(root.prefix(16)) does not match the listed files (\(actual.prefix(16)))")
        }
        return Statement(subject: subject, rootDigest: root, resources: resources)
    }
}
