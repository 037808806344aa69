import CSandbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A workspace's root held open as a directory descriptor, and every file operation of
/// the files tool done relative to it.
///
/// Checking a path and then opening it by name is a race a sandboxed process can win: it
/// can swap a folder for a symbolic link in between. So nothing here opens by host path.
/// Each relative path is resolved by the kernel beneath the root's descriptor with
/// symbolic links refused in every component (`anima_open_beneath`); new folders and
/// files are made relative to their parent's descriptor, and owners are changed on the
/// open descriptor. The descriptor is closed when the value goes away.
final class WorkspaceDirectory {
    /// An `O_PATH` descriptor of the workspace's root.
    let fd: Int32
    private let ids: (uid: uid_t, gid: gid_t)?
    /// Walk component by component even where openat2 exists (tests cover that path too).
    private let walk: Bool

    /// Opens the root of `workspace`.
    /// - Parameter walk: resolve without openat2, as on kernels older than 5.6 (default false).
    init(_ workspace: Workspace, walk: Bool = false) throws(ToolError) {
        let fd = Glibc.open(workspace.root, anima_o_path | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw .failed("could not open the workspace \(workspace.root): \(String(cString: strerror(errno)))") }
        self.fd = fd
        ids = Self.fileOwner(of: workspace)
        self.walk = walk
    }

    deinit { close(fd) }

    /// The user and group that files made by the files tool get (when Anima runs as
    /// root), so that the sandbox's user can change them. One place, to change together.
    static func fileOwner(of workspace: Workspace) -> (uid: uid_t, gid: gid_t)? {
        workspace.owner.map { (uid: $0, gid: workspace.group ?? $0) }
    }

    /// The components of `relative`, refused when it is absolute, has a NUL byte or `..`.
    static func components(of relative: String) throws(ToolError) -> [String] {
        guard !relative.contains("\0") else { throw .path("the path contains a NUL byte") }
        guard !relative.hasPrefix("/") else {
            throw .path("\(relative) is absolute; give a path relative to the workspace, for example notes/todo.txt")
        }
        let components = relative.split(separator: "/", omittingEmptySubsequences: true).map(String.init).filter { $0 != "." }
        guard !components.contains("..") else {
            throw .path("\(relative) contains \"..\"; paths must stay inside the workspace")
        }
        return components
    }

    /// Opens `relative` (the root when empty) with `flags`; the caller closes the result.
    func open(_ relative: String, flags: Int32, mode: mode_t = 0) throws(ToolError) -> Int32 {
        let components = try Self.components(of: relative)
        return try open(components.isEmpty ? "." : components.joined(separator: "/"), beneath: fd, flags: flags, mode: mode, for: relative)
    }

    /// Opens `name` (one component or a checked relative path) beneath `directory`.
    func open(_ name: String, beneath directory: Int32, flags: Int32, mode: mode_t = 0, for relative: String) throws(ToolError) -> Int32 {
        let result = anima_open_beneath(directory, name, flags, mode, walk ? 1 : 0)
        guard result >= 0 else { throw Self.error(-result, relative) }
        return result
    }

    /// The folder that holds `relative`'s last component, as an `O_PATH` descriptor, and
    /// that component; missing folders on the way are made (and adopted) when `create`.
    func parent(of relative: String, create: Bool) throws(ToolError) -> (fd: Int32, name: String) {
        let components = try Self.components(of: relative)
        guard let name = components.last else { throw .path("give a file name, not the workspace itself") }
        var current = dup(fd)
        guard current >= 0 else { throw .failed("could not open the workspace: \(String(cString: strerror(errno)))") }
        var walked: [String] = []
        for component in components.dropLast() {
            walked.append(component)
            let shown = walked.joined(separator: "/")
            var next = anima_open_beneath(current, component, anima_o_path | O_DIRECTORY, 0, walk ? 1 : 0)
            if next == -ENOENT && create {
                let made = mkdirat(current, component, 0o755) == 0
                if made || errno == EEXIST {
                    next = anima_open_beneath(current, component, anima_o_path | O_DIRECTORY, 0, walk ? 1 : 0)
                    if next >= 0 && made { adopt(next) }
                } else {
                    next = -errno
                }
            }
            close(current)
            guard next >= 0 else { throw Self.error(-next, shown) }
            current = next
        }
        return (current, name)
    }

    /// Gives the file `fd` refers to the workspace's owner; by descriptor, never by path.
    func adopt(_ fd: Int32) {
        if let ids { _ = anima_chown_fd(fd, ids.uid, ids.gid) }
    }

    /// What an open error means for the agent.
    static func error(_ code: Int32, _ relative: String) -> ToolError {
        switch code {
        case ELOOP:
            .path("\(relative) is or passes through a symbolic link; the files tool follows no symbolic links, give the real path")
        case EXDEV: .path("\(relative) leads outside the workspace")
        case ENOENT: .path("\(relative) does not exist in the workspace")
        case ENOTDIR: .path("a folder in \(relative) is a file, or \(relative) is not a folder")
        case ENXIO, EOPNOTSUPP:
            .path("\(relative) is a special file (a named pipe, socket or device); the files tool reads and writes only regular files")
        case EISDIR: .path("\(relative) is a folder; use list")
        default: .failed("could not open \(relative): \(String(cString: strerror(code)))")
        }
    }
}
