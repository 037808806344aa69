import AnimaCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An agent's own directory: the only place its tools may write, mounted at `/workspace`
/// in its sandbox. Anima's own file operations in it go through `WorkspaceDirectory`,
/// never by host path, because sandboxed processes change it at the same time.
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
        let safe = String(agent.map { $0.isLetter || $0.isNumber || "._-".contains($0) ? $0 : "_" }).trimmingCharacters(
            in: CharacterSet(charactersIn: "."))
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
    public static var defaultBase: String { AnimaDirectories.workspaces() }
}
