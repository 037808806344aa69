import AnimaCore
import Foundation

/// Signs package folders and publishes them into a registry folder: the archive under
/// `archives/` and a re-signed `index.json` with a higher version.
public enum RegistryPublisher {
    /// Writes `model.sig` into `package` after checking its manifest; returns the statement.
    @discardableResult
    public static func sign(_ package: URL, key: SigningKey) throws(StoreError) -> SignatureBundle.Statement {
        let manifest = try PackageManifest.parse(try PackageVerifier.readRegular(package.appendingPathComponent(PackageManifest.fileName)))
        let files = try PackageFiles.list(package, skipping: [SignatureBundle.fileName])
        for f in manifest.files where files[f.path] == nil { throw .missingFile(name: f.path) }
        if let t = manifest.model?.chatTemplate {
            let actual = try PackageFiles.sha256(package.path + "/" + t.file)
            guard actual == t.sha256 else { throw .templateMismatch(file: t.file, pinned: t.sha256, actual: actual) }
        }
        let (bundle, statement) = try SignatureBundle.sign(directory: package, subject: manifest.name, key: key)
        do { try DurableFile.write(bundle, to: package.appendingPathComponent(SignatureBundle.fileName), mode: 0o644) } catch {
            throw .unreadable(path: package.path, reason: "cannot write model.sig: \(error)")
        }
        return statement
    }

    /// Adds the signed package at `package` to the registry folder `registry`, signing the
    /// index with `key` (which must be the key that signed the package, or any key when
    /// `indexKey` differs from the package's signer).
    @discardableResult
    public static func publish(
        _ package: URL, to registry: URL, key: SigningKey, lifetime: TimeInterval = 365 * 86400, now: Date = Date()
    ) throws(StoreError) -> RegistryIndex.Entry {
        let manifest = try PackageManifest.parse(try PackageVerifier.readRegular(package.appendingPathComponent(PackageManifest.fileName)))
        // Check the package as an installer will, against a root that trusts only this key.
        let own = TrustRoot(
            version: 1, expires: .distantFuture,
            publishers: [
                .init(name: manifest.publisher, key: key.publicKey.pem, hint: key.publicKey.hint, roles: TrustRoot.roles, added: now)
            ])
        _ = try PackageVerifier.verify(package, trust: own, now: now)
        let archives = registry.appendingPathComponent("archives")
        do { try FileManager.default.createDirectory(at: archives, withIntermediateDirectories: true) } catch {
            throw .unreadable(path: archives.path, reason: "cannot create: \(error)")
        }
        let relative = "archives/\(manifest.name)-\(manifest.version).tar"
        let archive = registry.appendingPathComponent(relative)
        try PackageArchive.create(from: package, to: archive)
        let size = (try? FileManager.default.attributesOfItem(atPath: archive.path)[.size] as? Int64) ?? nil
        let entry = RegistryIndex.Entry(
            name: manifest.name, version: manifest.version.description, publisher: manifest.publisher, kind: manifest.kind.rawValue,
            description: manifest.description, license: manifest.license, archive: relative, sha256: try PackageFiles.sha256(archive.path),
            size: size ?? 0,
            dependencies: manifest.dependencies.isEmpty
                ? nil : manifest.dependencies.map { .init(name: $0.name, minimumVersion: $0.minimumVersion?.description) })
        var index = RegistryIndex(version: 0, expires: now, packages: [])
        let indexFile = registry.appendingPathComponent(RegistryIndex.fileName)
        if FileManager.default.fileExists(atPath: indexFile.path) {
            (index, _) = try RegistryIndex.open(try PackageVerifier.readRegular(indexFile), trust: own, now: .distantPast)
        }
        index.packages.removeAll { $0.name == entry.name && $0.version == entry.version }
        index.packages.append(entry)
        index.packages.sort { ($0.name, PackageVersion($0.version)!) < ($1.name, PackageVersion($1.version)!) }
        index.version += 1
        index.expires = now.addingTimeInterval(lifetime)
        do { try DurableFile.write(index.signed(with: key), to: indexFile, mode: 0o644) } catch {
            throw .unreadable(path: indexFile.path, reason: "cannot write: \(error)")
        }
        return entry
    }
}
