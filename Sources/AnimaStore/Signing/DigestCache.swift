import AnimaCore
import Foundation
import Synchronization

/// Files' SHA-256 digests remembered by device, inode, size, modification and change time,
/// so the check before every load re-hashes only what changed.
///
/// The change time (ctime) is in the key because no user call can set it back: a file
/// rewritten and given its old mtime with `touch -d` still misses the cache. Persisted as
/// JSON with `DurableFile`; a damaged cache file is ignored (everything is re-hashed).
public final class DigestCache: Sendable {
    struct Entry: Codable, Hashable {
        var stamp: PackageFiles.Stamp
        var sha256: String
    }

    private let file: URL?
    private let entries: Mutex<[String: Entry]>
    /// Whether anything changed since the file was read, so a re-check that hashed
    /// nothing writes nothing.
    private let dirty = Mutex(false)

    /// A cache kept in `file` (nil: in memory only).
    public init(file: URL?) {
        self.file = file
        var loaded: [String: Entry] = [:]
        if let file, let data = try? DurableFile.read(file), let decoded = try? JSONDecoder().decode([String: Entry].self, from: data) {
            loaded = decoded
        }
        entries = Mutex(loaded)
    }

    /// The digest of `path`, from the cache when `stamp` matches, else by hashing it.
    public func sha256(_ path: String, stamp: PackageFiles.Stamp) throws(StoreError) -> String {
        if let hit = entries.withLock({ $0[path] }), hit.stamp == stamp { return hit.sha256 }
        let digest = try PackageFiles.sha256(path)
        entries.withLock { $0[path] = Entry(stamp: stamp, sha256: digest) }
        dirty.withLock { $0 = true }
        return digest
    }

    /// Forgets every entry under `prefix` (a removed package).
    public func forget(under prefix: String) {
        entries.withLock { e in e = e.filter { !$0.key.hasPrefix(prefix) } }
        dirty.withLock { $0 = true }
    }

    /// Renames entries under `old` to `new` (a verified folder moved into place; a rename
    /// keeps its files' inodes and times).
    public func move(from old: String, to new: String) {
        entries.withLock { e in
            for (key, value) in e where key.hasPrefix(old) {
                e[key] = nil
                e[new + key.dropFirst(old.count)] = value
            }
        }
        dirty.withLock { $0 = true }
    }

    /// Writes the cache to its file, if it has one.
    public func save() {
        guard let file, dirty.withLock({ $0 }) else { return }
        dirty.withLock { $0 = false }
        let snapshot = entries.withLock { $0 }
        if let data = try? JSONEncoder().encode(snapshot) { try? DurableFile.write(data, to: file) }
    }
}
