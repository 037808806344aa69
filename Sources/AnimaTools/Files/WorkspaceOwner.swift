import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Each workspace's own uid and gid, where Anima runs as root.
///
/// Sandboxes of different workspaces must not share a user: a shared uid shares one
/// `RLIMIT_NPROC` and may signal or read the other's processes and files. Ids come from
/// root's subordinate range in `/etc/subuid` and `/etc/subgid` when both list one, else
/// from a fixed range above any account (`0x70000000`). The record is the workspace
/// directory's owner: read back on every open, so it survives restarts without a table,
/// and chosen under a lock on the parent directory so two workspaces never get the same.
enum WorkspaceOwner {
    struct Range: Equatable {
        var firstUID: UInt32
        var firstGID: UInt32
        var count: UInt32

        /// The slot of `uid`/`gid`, when they are a pair of this range.
        func slot(uid: UInt32, gid: UInt32) -> UInt32? {
            guard uid >= firstUID, uid - firstUID < count, gid >= firstGID, gid - firstGID == uid - firstUID else { return nil }
            return uid - firstUID
        }
    }

    /// Root's subordinate range, else the fixed one.
    static let range: Range = {
        if let uids = subordinate("/etc/subuid"), let gids = subordinate("/etc/subgid") {
            let count = min(uids.count, gids.count)
            if count >= 1024 { return Range(firstUID: uids.first, firstGID: gids.first, count: count) }
        }
        return fixed
    }()

    static let fixed = Range(firstUID: 0x7000_0000, firstGID: 0x7000_0000, count: 0x0100_0000)

    /// The uid and gid of the workspace at `root`: the directory's owner when it already
    /// is one from the range, else a free pair, given to the directory and everything in it.
    static func assign(_ root: String, range: Range = range) throws(ToolError) -> (uid: uid_t, gid: gid_t) {
        var info = stat()
        guard lstat(root, &info) == 0 else {
            throw .failed("could not read the owner of the workspace \(root): \(String(cString: strerror(errno)))")
        }
        if range.slot(uid: info.st_uid, gid: info.st_gid) != nil { return (info.st_uid, info.st_gid) }

        let parent = (root as NSString).deletingLastPathComponent
        let lock = open(parent.isEmpty ? "/" : parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard lock >= 0 else {
            throw .failed("could not open \(parent) to give the workspace an owner: \(String(cString: strerror(errno)))")
        }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { throw .failed("could not lock \(parent): \(String(cString: strerror(errno)))") }
        }
        defer { flock(lock, LOCK_UN) }
        // Another Anima may have chosen while this one waited for the lock.
        guard lstat(root, &info) == 0 else { throw .failed("the workspace \(root) disappeared") }
        if range.slot(uid: info.st_uid, gid: info.st_gid) != nil { return (info.st_uid, info.st_gid) }

        var used: Set<UInt32> = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] {
            var sibling = stat()
            if fstatat(lock, entry, &sibling, AT_SYMLINK_NOFOLLOW) == 0, let slot = range.slot(uid: sibling.st_uid, gid: sibling.st_gid) {
                used.insert(slot)
            }
        }
        guard used.count < Int(range.count) else {
            throw .failed("every uid of the workspace range (\(range.count)) is taken under \(parent); remove unused workspaces")
        }
        // Start from a hash of the path, so workspaces under different parents rarely meet.
        var slot = fnv1a(root) % range.count
        while used.contains(slot) { slot = (slot + 1) % range.count }
        let uid = range.firstUID + slot
        let gid = range.firstGID + slot
        let directory = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard directory >= 0 else { throw .failed("could not open the workspace \(root): \(String(cString: strerror(errno)))") }
        defer { close(directory) }
        chownTree(directory, uid: uid, gid: gid)
        guard fchown(directory, uid, gid) == 0 else {
            throw .failed("could not give the workspace \(root) its own user: \(String(cString: strerror(errno)))")
        }
        return (uid, gid)
    }

    /// Gives everything beneath the open directory `fd` to `uid`/`gid`, never following
    /// a symbolic link (a sandbox may have planted some), one directory fd at a time.
    private static func chownTree(_ fd: Int32, uid: uid_t, gid: gid_t, depth: Int = 0) {
        guard depth < 256 else { return }
        let listing = dup(fd)
        guard listing >= 0, let dir = fdopendir(listing) else {
            if listing >= 0 { close(listing) }
            return
        }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name == "." || name == ".." { continue }
            fchownat(fd, name, uid, gid, AT_SYMLINK_NOFOLLOW)
            var info = stat()
            guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { continue }
            let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard child >= 0 else { continue }
            chownTree(child, uid: uid, gid: gid, depth: depth + 1)
            close(child)
        }
    }

    /// Root's first range in a subordinate-id file (`root:first:count` or `0:first:count`).
    private static func subordinate(_ file: String) -> (first: UInt32, count: UInt32)? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":")
            guard fields.count == 3, fields[0] == "root" || fields[0] == "0",
                let first = UInt32(fields[1]), let count = UInt32(fields[2]), first > 0, UInt64(first) + UInt64(count) <= UInt64(UInt32.max)
            else { continue }
            return (first, count)
        }
        return nil
    }

    private static func fnv1a(_ text: String) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return hash
    }
}
