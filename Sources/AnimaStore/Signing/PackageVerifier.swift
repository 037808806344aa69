import AnimaCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A package that passed verification: its manifest, who signed it and what was signed.
public struct VerifiedPackage: Sendable {
    public var manifest: PackageManifest
    public var statement: SignatureBundle.Statement
    public var signer: TrustRoot.Publisher
    public var directory: URL
}

/// Verifies a package directory: signature, signer, every file, the pinned template.
///
/// The publisher named in the manifest must be trusted (known, not expired, not revoked),
/// the bundle must be signed with that publisher's key, the set of files on disk must be
/// exactly the set signed (plus `model.sig`), every file must hash to its signed digest,
/// and a model's chat template must match its pinned hash. Nothing is loaded on failure.
public enum PackageVerifier {
    public static func verify(_ directory: URL, trust: TrustRoot, cache: DigestCache? = nil, now: Date = Date()) throws(StoreError)
        -> VerifiedPackage
    {
        let bundle = try readRegular(directory.appendingPathComponent(SignatureBundle.fileName))
        let manifestData = try readRegular(directory.appendingPathComponent(PackageManifest.fileName))
        let manifest = try PackageManifest.parse(manifestData)
        let signer = try trust.publisher(manifest.publisher, now: now)
        let statement = try SignatureBundle.open(bundle, key: try signer.publicKey())
        let onDisk = try PackageFiles.list(directory, skipping: [SignatureBundle.fileName])
        let signed = statement.digests
        if let extra = onDisk.keys.sorted().first(where: { signed[$0] == nil }) { throw .extraFile(name: extra) }
        if let missing = signed.keys.sorted().first(where: { onDisk[$0] == nil }) { throw .missingFile(name: missing) }
        for file in manifest.files where signed[file.path] == nil { throw .missingFile(name: file.path) }
        func digest(_ name: String) throws(StoreError) -> String {
            let path = directory.path + "/" + name
            if let cache, let stamp = onDisk[name] { return try cache.sha256(path, stamp: stamp) }
            return try PackageFiles.sha256(path)
        }
        if let template = manifest.model?.chatTemplate {
            let actual = try digest(template.file)
            guard actual == template.sha256 else { throw .templateMismatch(file: template.file, pinned: template.sha256, actual: actual) }
        }
        // The manifest was parsed from the bytes on disk; its signed digest is checked with the rest.
        for (name, expected) in statement.resources {
            guard try digest(name) == expected else { throw .fileChanged(name: name) }
        }
        // A file swapped between the stat and the read would show as a new stamp next time;
        // re-stat the manifest so the one parsed is the one whose digest passed.
        guard
            try PackageFiles.list(directory, skipping: [SignatureBundle.fileName])[PackageManifest.fileName]
                == onDisk[PackageManifest.fileName]
        else { throw .fileChanged(name: PackageManifest.fileName) }
        return VerifiedPackage(manifest: manifest, statement: statement, signer: signer, directory: directory)
    }

    /// A whole regular file, refusing a link.
    static func readRegular(_ url: URL, limit: Int = 16 << 20) throws(StoreError) -> Data {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno == ELOOP { throw .symlink(path: url.lastPathComponent) }
            if errno == ENOENT { throw .missingFile(name: url.lastPathComponent) }
            throw .unreadable(path: url.path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path: url.path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            data.append(contentsOf: buffer[0..<n])
            if data.count > limit { throw .unreadable(path: url.path, reason: "larger than \(limit) bytes") }
        }
        return data
    }
}
