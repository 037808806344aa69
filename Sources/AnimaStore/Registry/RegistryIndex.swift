import AnimaCore
import Foundation

/// A registry's `index.json`: the packages it offers, signed by a trusted publisher key
/// with the `index` role.
///
/// A DSSE envelope (payload type `application/vnd.anima.registry-index+json`) over a JSON
/// document with a version, an expiry and one entry per package: its archive's path,
/// size and SHA-256. The archive's digest is what ties an archive to the signed index,
/// so a tampered archive or index is refused before any of it is unpacked; a lower index
/// version than one seen before is refused as a replay.
public struct RegistryIndex: Sendable, Codable, Hashable {
    public struct Entry: Sendable, Codable, Hashable {
        public var name: String
        public var version: String
        public var publisher: String
        public var kind: String
        public var description: String
        public var license: String
        /// The archive's path, relative to the registry's root.
        public var archive: String
        public var sha256: String
        public var size: Int64
        /// The packages it needs, as its manifest lists them, so an installer can fetch
        /// them first (nil in indexes written before dependencies were listed).
        public var dependencies: [Requirement]?
    }

    /// One dependency of an entry: a package name and the oldest version that will do.
    public struct Requirement: Sendable, Codable, Hashable {
        public var name: String
        public var minimumVersion: String?

        public init(name: String, minimumVersion: String? = nil) {
            self.name = name
            self.minimumVersion = minimumVersion
        }
    }

    public static let fileName = "index.json"
    public static let payloadType = "application/vnd.anima.registry-index+json"

    public var version: Int
    public var expires: Date
    public var packages: [Entry]

    public init(version: Int, expires: Date, packages: [Entry]) {
        self.version = version
        self.expires = expires
        self.packages = packages
    }

    /// The newest entry named `name`.
    public func latest(_ name: String) -> Entry? {
        packages.filter { $0.name == name }.max {
            (PackageVersion($0.version) ?? PackageVersion("0")!) < (PackageVersion($1.version) ?? PackageVersion("0")!)
        }
    }

    /// The signed envelope for this index.
    public func signed(with key: SigningKey) -> Data {
        let payload = (try? TrustStore.encoder.encode(self)) ?? Data()
        let sig = key.sign(DSSE.preAuthenticationEncoding(payloadType: Self.payloadType, payload: payload))
        let envelope: [String: Any] = [
            "payloadType": Self.payloadType, "payload": payload.base64EncodedString(),
            "signatures": [["keyid": key.publicKey.hint, "sig": sig.base64EncodedString()]],
        ]
        return (try? JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys, .prettyPrinted])) ?? Data()
    }

    /// Verifies a signed index against the trust root and returns it with its signer.
    public static func open(_ data: Data, trust: TrustRoot, now: Date = Date()) throws(StoreError) -> (RegistryIndex, TrustRoot.Publisher) {
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any], json["payloadType"] as? String == payloadType,
            let payloadText = json["payload"] as? String, let payload = Data(base64Encoded: payloadText),
            let sigs = json["signatures"] as? [[String: Any]], sigs.count == 1,
            let hint = sigs[0]["keyid"] as? String, let sigText = sigs[0]["sig"] as? String, let sig = Data(base64Encoded: sigText)
        else { throw .index("it is not a signed index envelope with one signature") }
        let signer: TrustRoot.Publisher
        do {
            signer = try trust.signer(hint: hint, role: "index", now: now)
        } catch .unknownPublisher {
            throw .index(
                "it is signed by key \(hint.prefix(16)), which no trusted publisher holds; if you trust the registry, add its publisher's key with `anima store trust add NAME KEY.pem` (the local registry's is in its folder, anima-project.pub.pem)"
            )
        }
        guard
            try signer.publicKey().isValid(signature: sig, for: DSSE.preAuthenticationEncoding(payloadType: payloadType, payload: payload))
        else { throw .index("its signature does not verify with \(signer.name)'s key") }
        guard let index = try? TrustStore.decoder.decode(RegistryIndex.self, from: payload) else {
            throw .index("its signed part is not an index")
        }
        guard index.expires > now else { throw .index("it expired on \(index.expires.formatted(.iso8601)) (a stale or replayed index)") }
        for (i, e) in index.packages.enumerated() {
            guard PackageManifest.isPackageName(e.name), PackageVersion(e.version) != nil, e.sha256.count == 64,
                Hex.isLowercaseHex(e.sha256),
                e.size >= 0
            else { throw .index("entry \(i) is malformed") }
            do { try PackageManifest.checkRelativePath(e.archive, field: "archive") } catch {
                throw .index("entry \(e.name) names an archive outside the registry")
            }
            for d in e.dependencies ?? []
            where !PackageManifest.isPackageName(d.name) || d.minimumVersion.map(PackageVersion.init) == .some(nil) {
                throw .index("entry \(e.name) lists a malformed dependency")
            }
        }
        return (index, signer)
    }
}
