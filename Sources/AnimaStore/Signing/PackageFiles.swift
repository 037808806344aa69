import AnimaCore
import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The regular files of a package directory and their SHA-256 digests.
///
/// Walks the directory without following links: a symbolic link anywhere (file or folder)
/// is refused, because a link can point out of the package to a file the signature never
/// covered. Names are `/`-separated paths relative to the directory, as model-signing
/// writes them.
public enum PackageFiles {
    /// One file's identity on disk, for the digest cache.
    public struct Stamp: Sendable, Hashable, Codable {
        public var device: UInt64
        public var inode: UInt64
        public var size: Int64
        public var modified: Int64
        public var changed: Int64
    }

    /// Every regular file under `root`, by relative name, except the names in `skipping`.
    public static func list(_ root: URL, skipping: Set<String> = []) throws(StoreError) -> [String: Stamp] {
        var out: [String: Stamp] = [:]
        try walk(root.path, prefix: "", into: &out, skipping: skipping)
        return out
    }

    private static func walk(_ dir: String, prefix: String, into out: inout [String: Stamp], skipping: Set<String>) throws(StoreError) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) else {
            throw .unreadable(path: dir, reason: "not a readable directory")
        }
        for entry in entries.sorted() {
            let name = prefix + entry
            let path = dir + "/" + entry
            if skipping.contains(name) { continue }
            var st = stat()
            guard lstat(path, &st) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
            switch st.st_mode & S_IFMT {
            case S_IFLNK: throw .symlink(path: name)
            case S_IFDIR: try walk(path, prefix: name + "/", into: &out, skipping: skipping)
            case S_IFREG: out[name] = stamp(st)
            default: throw .unreadable(path: name, reason: "not a regular file or folder")
            }
            if out.count > 100_000 { throw .unreadable(path: dir, reason: "more than 100000 files") }
        }
    }

    static func stamp(_ st: stat) -> Stamp {
        Stamp(
            device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
            modified: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
            changed: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec))
    }

    /// The SHA-256 of one file, read in large blocks, refusing a link at the last step.
    public static func sha256(_ path: String) throws(StoreError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno == ELOOP { throw .symlink(path: path) }
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        #if os(Linux)
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        #endif
        var hasher = SHA256()
        let size = 8 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, size)
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return Hex.encode(hasher.finalize())
    }
}
