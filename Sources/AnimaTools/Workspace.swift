import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An agent's own directory: the only place its tools may write, mounted at `/workspace`
/// in its sandbox. Paths into it are relative; `..`, absolute paths and symbolic links
/// that lead outside are refused.
public struct Workspace: Sendable, Hashable {
    /// The directory on the host, with symbolic links resolved.
    public let root: String
    /// The workspace's own uid and gid when Anima runs as root (nil otherwise): its
    /// sandboxes run as them and its files belong to them. See `WorkspaceOwner`.
    public let owner: uid_t?
    public let group: gid_t?

    /// Opens (creating if needed) the workspace of `agent` under `base`.
    /// - Parameters:
    ///   - agent: the agent's name; only letters, digits, `.`, `_` and `-` are kept.
    ///   - base: the directory that holds every agent's workspace (default `Workspace.defaultBase`).
    ///   - sandbox: unused: the workspace has a user of its own (kept for callers).
    public init(agent: String, base: String = Workspace.defaultBase, sandbox: Sandbox = .standard) throws(ToolError) {
        let safe = String(agent.map { $0.isLetter || $0.isNumber || "._-".contains($0) ? $0 : "_" }).trimmingCharacters(in: CharacterSet(charactersIn: "."))
        guard !safe.isEmpty else { throw .invalidArgument("agent name \"\(agent)\" has no usable characters for a workspace") }
        let path = (base as NSString).appendingPathComponent(safe)
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .failed("could not create the workspace \(path): \(error.localizedDescription)")
        }
        try self.init(existing: path, sandbox: sandbox)
    }

    /// A workspace at an existing directory.
    public init(existing path: String, sandbox: Sandbox = .standard) throws(ToolError) {
        guard let real = realpath(path, nil) else { throw .path("the workspace \(path) does not exist") }
        root = String(cString: real)
        free(real)
        if geteuid() == 0 {
            let id = try WorkspaceOwner.assign(root)
            owner = id.uid
            group = id.gid
        } else {
            owner = nil
            group = nil
        }
    }

    /// `$XDG_STATE_HOME/anima/workspaces`, else `~/.local/state/anima/workspaces`: apart
    /// from the Anima data directory, which no sandbox sees.
    public static var defaultBase: String {
        let env = ProcessInfo.processInfo.environment
        if let base = env["ANIMA_WORKSPACES"], !base.isEmpty { return base }
        let state = env["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.local/state"
        return state + "/anima/workspaces"
    }

    /// The host path of `relative`, checked to stay inside the workspace.
    /// - Parameter mustExist: whether the path must already exist (reads) or only its parent (writes).
    public func resolve(_ relative: String, mustExist: Bool) throws(ToolError) -> String {
        if relative.isEmpty || relative == "." { return root }
        guard !relative.contains("\0") else { throw .path("the path contains a NUL byte") }
        guard !relative.hasPrefix("/") else {
            throw .path("\(relative) is absolute; give a path relative to the workspace, for example notes/todo.txt")
        }
        let components = relative.split(separator: "/", omittingEmptySubsequences: true)
        guard !components.contains("..") else {
            throw .path("\(relative) contains \"..\"; paths must stay inside the workspace")
        }
        let path = root + "/" + components.joined(separator: "/")
        if let real = realpath(path, nil) {
            defer { free(real) }
            let resolved = String(cString: real)
            guard inside(resolved) else { throw .path("\(relative) is a symbolic link that leads outside the workspace") }
            return resolved
        }
        if mustExist { throw .path("\(relative) does not exist in the workspace") }
        // A new file: its parent must exist inside the workspace, and the name must not be a dangling link.
        let parent = (path as NSString).deletingLastPathComponent
        guard let realParent = realpath(parent, nil) else {
            throw .path("the folder of \(relative) does not exist; create it first")
        }
        defer { free(realParent) }
        guard inside(String(cString: realParent)) else { throw .path("\(relative) leads outside the workspace through a symbolic link") }
        var info = stat()
        if lstat(path, &info) == 0 { throw .path("\(relative) is a symbolic link that leads outside the workspace") }
        return String(cString: realParent) + "/" + (path as NSString).lastPathComponent
    }

    /// The path relative to the workspace, for messages.
    public func relative(_ path: String) -> String {
        path == root ? "." : String(path.dropFirst(root.count + 1))
    }

    /// Gives a file the workspace's owner, so sandboxed tools can change it.
    func adopt(_ path: String) {
        if let owner { chown(path, owner, group ?? owner) }
    }

    private func inside(_ path: String) -> Bool {
        path == root || path.hasPrefix(root + "/")
    }
}
