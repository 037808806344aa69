import Foundation
import Synchronization

/// Where Anima keeps its files on this machine: the one place that knows.
///
/// Each folder follows the XDG base directories (an empty variable counts as unset).
/// `protected` lists the folders that hold secrets or other users' work (the memory key,
/// tokens, workspaces, configuration); nothing outside Anima, such as a sandboxed MCP
/// server, may see them.
public enum AnimaDirectories {
    public typealias Environment = [String: String]

    /// `$XDG_DATA_HOME/anima`, else `~/.local/share/anima`: memory, the key, tokens, the audit log.
    public static func data(_ env: Environment = ProcessInfo.processInfo.environment) -> String {
        base(env, "XDG_DATA_HOME", ".local/share") + "/anima"
    }

    /// `$ANIMA_CONFIG`, else `$XDG_CONFIG_HOME/anima`, else `~/.config/anima`: config.toml,
    /// mcp.json, processors.json.
    public static func config(_ env: Environment = ProcessInfo.processInfo.environment) -> String {
        nonEmpty(env["ANIMA_CONFIG"]) ?? base(env, "XDG_CONFIG_HOME", ".config") + "/anima"
    }

    /// `$XDG_STATE_HOME/anima`, else `~/.local/state/anima`.
    public static func state(_ env: Environment = ProcessInfo.processInfo.environment) -> String {
        base(env, "XDG_STATE_HOME", ".local/state") + "/anima"
    }

    /// `$ANIMA_WORKSPACES`, else `state/workspaces`: every agent's workspace.
    public static func workspaces(_ env: Environment = ProcessInfo.processInfo.environment) -> String {
        nonEmpty(env["ANIMA_WORKSPACES"]) ?? state(env) + "/workspaces"
    }

    /// `$XDG_RUNTIME_DIR/anima`, else `state/run`: live kernels' status and control files.
    public static func runtime(_ env: Environment = ProcessInfo.processInfo.environment) -> String {
        nonEmpty(env["XDG_RUNTIME_DIR"]).map { $0 + "/anima" } ?? state(env) + "/run"
    }

    /// `$ANIMA_CACHE`, else `$XDG_CACHE_HOME/anima`, else `~/.cache/anima`: downloads only
    /// (models, llama.cpp, the reference tools' virtual environment), no secrets.
    public static func cache(_ env: Environment = ProcessInfo.processInfo.environment) -> String {
        nonEmpty(env["ANIMA_CACHE"]) ?? base(env, "XDG_CACHE_HOME", ".cache") + "/anima"
    }

    /// The folders no sandbox may see: data, configuration, state, workspaces and runtime,
    /// plus `$ANIMA_DATA_DIR` and `$ANIMA_CONFIG` when set, and every data directory this
    /// process was pointed at (`use(data:)`). The cache is not among them: it holds only
    /// what `scripts/setup.sh` downloads, tool installations included.
    public static func protected(_ env: Environment = ProcessInfo.processInfo.environment) -> [String] {
        var paths = [data(env), config(env), state(env), workspaces(env), runtime(env)]
        for name in ["ANIMA_DATA_DIR", "ANIMA_CONFIG"] {
            if let path = nonEmpty(env[name]) { paths.append(path) }
        }
        for path in inUse.withLock({ $0 }) where !paths.contains(path) { paths.append(path) }
        return paths
    }

    /// Records that this process keeps its data in `path` (from `--data-dir` or the config
    /// file's `data_dir`), so `protected()` hides it from sandboxes as it hides the default.
    public static func use(data path: String) {
        let path = (path as NSString).expandingTildeInPath
        inUse.withLock { if !$0.contains(path) { $0.append(path) } }
    }

    /// The data directories given to `use(data:)`.
    private static let inUse = Mutex<[String]>([])

    private static func base(_ env: Environment, _ variable: String, _ fallback: String) -> String {
        nonEmpty(env[variable]) ?? home(env) + "/" + fallback
    }

    private static func home(_ env: Environment) -> String {
        nonEmpty(env["HOME"]) ?? NSHomeDirectory()
    }

    private static func nonEmpty(_ value: String?) -> String? {
        value.flatMap { $0.isEmpty ? nil : $0 }
    }
}
