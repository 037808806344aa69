import Foundation

/// A package's provenance as `anima store info` shows it: source, build inputs, signer,
/// digests, licence and permissions.
public struct BillOfMaterials: Sendable, Codable, Hashable {
    public struct FileDigest: Sendable, Codable, Hashable {
        public var name: String
        public var sha256: String
    }

    public var name: String
    public var version: String
    public var kind: String
    public var publisher: String
    public var license: String
    public var description: String
    public var source: String?
    public var buildInputs: [String]
    public var signerKey: String?
    public var signatureFormat: String
    public var rootDigest: String?
    public var files: [FileDigest]
    public var requested: [String]
    public var granted: [String]?
    public var installed: Bool
    public var registry: String?
    public var archiveSHA256: String?
    public var dependencies: [String]

    /// From an installed package that just verified.
    public init(installed record: InstalledPackage, verified: VerifiedPackage) {
        let m = verified.manifest
        name = m.name
        version = m.version.description
        kind = m.kind.rawValue
        publisher = m.publisher
        license = m.license
        description = m.description
        source = m.provenance.source
        buildInputs = m.provenance.buildInputs
        signerKey = verified.signer.hint
        signatureFormat = "OpenSSF model-signing v1.0 (Sigstore bundle v0.3, DSSE, ECDSA P-256)"
        rootDigest = verified.statement.rootDigest
        files = verified.statement.resources.map { FileDigest(name: $0.name, sha256: $0.digest) }
        requested = record.requested
        granted = record.granted
        installed = true
        registry = record.source
        archiveSHA256 = nil
        dependencies = m.dependencies.map { $0.name + ($0.minimumVersion.map { " >= \($0)" } ?? "") }
    }

    /// From a registry entry (not installed: what the signed index says).
    public init(entry: RegistryIndex.Entry, registry: String) {
        name = entry.name
        version = entry.version
        kind = entry.kind
        publisher = entry.publisher
        license = entry.license
        description = entry.description
        source = nil
        buildInputs = []
        signerKey = nil
        signatureFormat = "OpenSSF model-signing v1.0 (verified at install)"
        rootDigest = nil
        files = []
        requested = []
        granted = nil
        installed = false
        self.registry = registry
        archiveSHA256 = entry.sha256
        dependencies = []
    }

    public var json: String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    public var text: String {
        var lines = [
            "\(name) \(version) (\(kind)) by \(publisher)\(installed ? ", installed" : ", not installed")",
            "  \(description)",
            "  licence:      \(license)",
        ]
        if let source { lines.append("  source:       \(source)") }
        for input in buildInputs { lines.append("  build input:  \(input)") }
        if let signerKey { lines.append("  signer key:   \(signerKey)") }
        lines.append("  signature:    \(signatureFormat)")
        if let rootDigest { lines.append("  root digest:  \(rootDigest)") }
        if let registry { lines.append("  registry:     \(registry)") }
        if let archiveSHA256 { lines.append("  archive:      sha256 \(archiveSHA256)") }
        for d in dependencies { lines.append("  depends on:   \(d)") }
        if !installed || !requested.isEmpty {
            lines.append("  asks for:     \(requested.isEmpty ? "(shown at install)" : requested.joined(separator: ", "))")
        }
        if let granted { lines.append("  granted:      \(granted.isEmpty ? "nothing" : granted.joined(separator: ", "))") }
        for f in files { lines.append("  file:         \(f.sha256)  \(f.name)") }
        return lines.joined(separator: "\n")
    }
}
