import AnimaCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The installed packages of this machine and the one way in: verify, grant, then place.
///
/// Layout under `directory` (by default `<data>/store`): `trust/` (the trust store),
/// `packages/NAME/` (verified contents), `installed.json` (records, the highest version
/// ever installed of each name, the highest index version seen of each registry),
/// `digests.json` (the digest cache) and `downloads/`. A package is unpacked and verified
/// in a staging folder and moved into place only when everything passed.
public struct PackageStore: Sendable {
    public let directory: URL
    public var trust: TrustStore { TrustStore(directory: directory.appendingPathComponent("trust"), audit: audit) }
    /// Where installs, updates, removals, trust changes, grants and refusals are recorded
    /// (nil: nowhere). The `anima store` commands record in the data directory's audit log.
    public var audit: StoreAudit?
    var packages: URL { directory.appendingPathComponent("packages") }
    var stateFile: URL { directory.appendingPathComponent("installed.json") }
    var lockFile: URL { directory.appendingPathComponent(".lock") }
    var downloads: URL { directory.appendingPathComponent("downloads") }
    public var cache: DigestCache { DigestCache(file: directory.appendingPathComponent("digests.json")) }

    public init(directory: URL, audit: StoreAudit? = nil) {
        self.directory = directory
        self.audit = audit
    }

    /// The store in the user's data directory.
    public static func standard(_ env: AnimaDirectories.Environment = ProcessInfo.processInfo.environment) -> PackageStore {
        PackageStore(directory: URL(fileURLWithPath: AnimaDirectories.data(env) + "/store"))
    }

    struct State: Codable {
        var packages: [InstalledPackage] = []
        var highest: [String: String] = [:]
        var indexVersions: [String: Int] = [:]
    }

    /// The installed packages, by name.
    public func list() throws(StoreError) -> [InstalledPackage] { try state().packages.sorted { $0.name < $1.name } }

    public func installed(_ name: String) throws(StoreError) -> InstalledPackage? { try state().packages.first { $0.name == name } }

    /// Fetches and verifies a registry's index; refuses one older than seen before.
    public func index(from source: RegistrySource, now: Date = Date()) async throws(StoreError) -> RegistryIndex {
        let data = try await source.fetch(RegistryIndex.fileName)
        let index: RegistryIndex
        do {
            (index, _) = try RegistryIndex.open(data, trust: try trust.load(now: now), now: now)
        } catch {
            try? audit?.record(
                "store.verify", "the index of \(StoreAudit.location(source.description))", outcome: .failed, detail: error.description)
            throw error
        }
        try mutate { (s: inout State) throws(StoreError) -> Void in
            let seen = s.indexVersions[source.description] ?? 0
            guard index.version >= seen else {
                throw .index("its version \(index.version) is older than version \(seen) seen before (a replayed index)")
            }
            s.indexVersions[source.description] = index.version
        }
        return index
    }

    /// How the installer asks which permissions to grant: given the verified manifest and
    /// the grant of the version installed before (nil on a first install), the accepted set.
    public typealias Grant = @Sendable (PackageManifest, [String]?) throws(StoreError) -> Set<String>

    /// Downloads `entry` from `source` (resuming), then installs it like `install(archive:)`.
    public func install(
        _ entry: RegistryIndex.Entry, from source: RegistrySource, grant: Grant, progress: (Int64, Int64) -> Void = { _, _ in },
        now: Date = Date()
    ) async throws(StoreError) -> InstalledPackage {
        try make(downloads)
        let file = downloads.appendingPathComponent("\(entry.name)-\(entry.version).tar")
        // One install of a release at a time, across processes: a second `anima store install`
        // waits here instead of appending to the same `.partial` download (and losing the
        // race to move it into place); it then installs as it would have after the first.
        let lock = open(file.path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw .download("cannot create \(file.path).lock: \(String(cString: strerror(errno)))") }
        defer { close(lock) }  // closing releases the lock
        while flock(lock, LOCK_EX | LOCK_NB) != 0 {
            do { try await Task.sleep(for: .milliseconds(100)) } catch { throw .download("cancelled while another install of \(entry.name) ran") }
        }
        try await source.download(entry, to: file, progress: progress)
        defer { try? FileManager.default.removeItem(at: file) }
        return try install(archive: file, expecting: entry, source: source.description, grant: grant, now: now)
    }

    /// Unpacks, verifies and places a package archive; the archive must match `expecting`
    /// (name, version, publisher) when it came from an index.
    public func install(
        archive: URL, expecting entry: RegistryIndex.Entry? = nil, source: String, grant: Grant, now: Date = Date()
    ) throws(StoreError) -> InstalledPackage {
        do {
            return try place(archive: archive, expecting: entry, source: source, grant: grant, now: now)
        } catch {
            audit?.refused(entry.map { "\($0.name) \($0.version)" } ?? archive.lastPathComponent, error)
            throw error
        }
    }

    private func place(
        archive: URL, expecting entry: RegistryIndex.Entry?, source: String, grant: Grant, now: Date
    ) throws(StoreError) -> InstalledPackage {
        try make(packages)
        let staging = packages.appendingPathComponent(".staging-\(Hex.randomID())")
        try make(staging)
        defer { try? FileManager.default.removeItem(at: staging) }
        try PackageArchive.extract(archive, into: staging)
        let root = try trust.load(now: now)
        let cache = self.cache
        let verified = try PackageVerifier.verify(staging, trust: root, cache: cache, now: now)
        let m = verified.manifest
        // A tool package's server runs as the sandbox's user, which must read its files:
        // they are the package's signed contents, nothing private.
        if m.kind == .tool { Self.openToSandbox(staging) }
        if let entry {
            guard entry.name == m.name, PackageVersion(entry.version) == m.version, entry.publisher == m.publisher else {
                throw .index(
                    "the index lists \(entry.name) \(entry.version) by \(entry.publisher) but the archive holds \(m.name) \(m.version) by \(m.publisher)"
                )
            }
        }
        for dep in m.dependencies {
            guard let have = try installed(dep.name), let v = PackageVersion(have.version), v >= dep.minimumVersion ?? v else {
                throw .notInstalled(
                    "\(dep.name)\(dep.minimumVersion.map { " \($0) or newer" } ?? "") (needed by \(m.name)); install it first")
            }
        }
        return try mutate { (s: inout State) throws(StoreError) -> InstalledPackage in
            let previous = s.packages.first { $0.name == m.name }
            for earlier in [previous?.version, s.highest[m.name]].compactMap({ $0 }) {
                if let v = PackageVersion(earlier), m.version < v {
                    throw .downgrade(name: m.name, installed: earlier, offered: m.version.description)
                }
            }
            let requested = m.requests.permissions
            let accepted = try grant(m, previous?.granted)
            if let previous {
                // An update keeps what was granted; asking for more needs the user's yes.
                let more = requested.filter { !previous.requested.contains($0) && !accepted.contains($0) }
                if !more.isEmpty { throw .notGranted(package: m.name, missing: more) }
            }
            let granted = requested.filter { accepted.contains($0) }
            let refused = requested.filter { !accepted.contains($0) }
            let what = "\(m.name) \(m.version)"
            try audit?.record(
                "store.grant",
                "\(what): granted \(granted.isEmpty ? "nothing" : granted.joined(separator: ","))"
                    + (refused.isEmpty ? "" : "; refused \(refused.joined(separator: ","))"), outcome: .recorded)
            let action = previous == nil ? "store.install" : "store.update"
            let summary =
                "\(what) (\(m.kind.rawValue)) by \(m.publisher), key \(verified.signer.hint.prefix(16)), root digest "
                + "\(verified.statement.rootDigest) from \(StoreAudit.location(source))"
                + (previous.map { ", replacing \($0.version)" } ?? "")
            try audit?.record(action, summary)
            let target = packages.appendingPathComponent(m.name)
            let old = packages.appendingPathComponent(".old-\(Hex.randomID())")
            if FileManager.default.fileExists(atPath: target.path) {
                guard rename(target.path, old.path) == 0 else { throw .unreadable(path: target.path, reason: "cannot replace") }
            }
            guard rename(staging.path, target.path) == 0 else {
                _ = rename(old.path, target.path)
                throw .unreadable(path: target.path, reason: String(cString: strerror(errno)))
            }
            DurableFile.syncDirectory(of: target)
            try? FileManager.default.removeItem(at: old)
            cache.forget(under: target.path + "/")
            cache.move(from: staging.path + "/", to: target.path + "/")
            cache.save()
            let record = InstalledPackage(
                name: m.name, version: m.version.description, publisher: m.publisher, kind: m.kind.rawValue, requested: requested,
                granted: granted, rootDigest: verified.statement.rootDigest, signerHint: verified.signer.hint, source: source,
                installedAt: now)
            s.packages.removeAll { $0.name == m.name }
            s.packages.append(record)
            if let h = s.highest[m.name].flatMap(PackageVersion.init), h > m.version {} else { s.highest[m.name] = m.version.description }
            return record
        }
    }

    /// Verifies an installed package before it is loaded: trust, signature, every file
    /// (re-hashed only where its inode, size or times changed), and that it is still the
    /// release that was installed.
    public func verifyForLoad(_ name: String, now: Date = Date()) throws(StoreError) -> (InstalledPackage, VerifiedPackage) {
        do {
            return try verifyInstalled(name, now: now)
        } catch .notInstalled(let missing) {
            throw .notInstalled(missing)
        } catch {
            try? audit?.record("store.verify", "\(name) before load", outcome: .failed, detail: error.description)
            throw error
        }
    }

    private func verifyInstalled(_ name: String, now: Date) throws(StoreError) -> (InstalledPackage, VerifiedPackage) {
        guard let record = try installed(name) else { throw .notInstalled(name) }
        let cache = self.cache
        let verified = try PackageVerifier.verify(
            packages.appendingPathComponent(name), trust: try trust.load(now: now), cache: cache, now: now)
        guard verified.statement.rootDigest == record.rootDigest, verified.manifest.version.description == record.version else {
            throw .badSignature("the files of \(name) are a different signed release than the one installed; reinstall it")
        }
        cache.save()
        return (record, verified)
    }

    /// Removes an installed package and its record (its highest version stays remembered).
    public func remove(_ name: String) throws(StoreError) {
        try mutate { (s: inout State) throws(StoreError) -> Void in
            guard let record = s.packages.first(where: { $0.name == name }) else { throw .notInstalled(name) }
            try audit?.record("store.remove", "\(name) \(record.version) by \(record.publisher), root digest \(record.rootDigest)")
            let target = packages.appendingPathComponent(name)
            let doomed = packages.appendingPathComponent(".removed-\(Hex.randomID())")
            if rename(target.path, doomed.path) == 0 { try? FileManager.default.removeItem(at: doomed) }
            s.packages.removeAll { $0.name == name }
        }
        cache.forget(under: packages.appendingPathComponent(name).path + "/")
    }

    /// The folder of an installed package.
    public func path(of name: String) -> URL { packages.appendingPathComponent(name) }

    private func state() throws(StoreError) -> State {
        guard let data = try? DurableFile.read(stateFile) else { return State() }
        guard let s = try? TrustStore.decoder.decode(State.self, from: data) else {
            throw .unreadable(path: stateFile.path, reason: "not a store state file; restore it from a backup")
        }
        return s
    }

    private func mutate<T>(_ body: (inout State) throws(StoreError) -> T) throws(StoreError) -> T {
        try make(directory)
        do {
            return try DurableFile.withLock(lockFile) { () throws -> T in
                var s = try state()
                let result = try body(&s)
                guard let data = try? TrustStore.encoder.encode(s) else {
                    throw StoreError.unreadable(path: stateFile.path, reason: "cannot encode")
                }
                try DurableFile.write(data, to: stateFile)
                return result
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .unreadable(path: stateFile.path, reason: "\(error)")
        }
    }

    /// Folders 0755, files 0644 (0755 when executable); links are never followed.
    private static func openToSandbox(_ root: URL) {
        var paths = [root.path]
        while let path = paths.popLast() {
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                chmod(path, 0o755)
                for entry in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] { paths.append(path + "/" + entry) }
            case S_IFREG:
                chmod(path, info.st_mode & 0o111 != 0 ? 0o755 : 0o644)
            default: break
            }
        }
    }

    private func make(_ url: URL) throws(StoreError) {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch { throw .unreadable(path: url.path, reason: "cannot create: \(error)") }
    }
}
