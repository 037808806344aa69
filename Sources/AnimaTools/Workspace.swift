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
    /// The owner files get when Anima runs as root, so the sandbox's user can write them.
    let owner: uid_t?

    /// Opens (creating if needed) the workspace of `agent` under `base`.
    /// - Parameters:
    ///   - agent: the agent's name; only letters, digits, `.`, `_` and `-` are kept.
    ///   - base: the directory that holds every agent's workspace (default `Workspace.defaultBase`).
    ///   - sandbox: the sandbox whose user must be able to write the workspace.
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
        owner = geteuid() == 0 ? sandbox.sandboxUID : nil
        // By descriptor, like every other change of owner in a workspace.
        if owner != nil, let directory = try? WorkspaceDirectory(self) { directory.adopt(directory.fd) }
    }

    /// `$XDG_STATE_HOME/anima/workspaces`, else `~/.local/state/anima/workspaces`: apart
    /// from the Anima data directory, which no sandbox sees.
    public static var defaultBase: String { AnimaDirectories.workspaces() }
}
