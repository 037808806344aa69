import AnimaCore
import Foundation
import MCP

#if canImport(Glibc)
import Glibc
#endif

/// An MCP server the user installed as a driver: how to start it and who may use it.
///
/// Read from `$XDG_CONFIG_HOME/anima/mcp.json` (else `~/.config/anima/mcp.json`):
/// ```json
/// {"servers": [{"name": "time", "command": "/opt/mcp/bin/mcp-server-time",
///               "args": ["--local-timezone", "UTC"], "env": {}, "groups": [],
///               "startupTimeout": 10}]}
/// ```
/// A server's tools may be described by the user, which beats what the server claims:
/// `"tools": {"send_money": {"effects": ["moves-money"], "arguments": {"to": "recipient"}}}`
/// (see `MCPToolOverride`), and `"trustAnnotations": false` ignores the server's MCP
/// annotations, so its undescribed tools get the most restrictive effects.
public struct MCPServerConfiguration: Sendable, Hashable, Codable {
    /// A short name; its tools appear as `NAME__TOOL`.
    public var name: String
    /// The executable, by absolute path (the sandbox has no PATH search into the user's home).
    public var command: String
    public var args: [String]
    public var env: [String: String]
    /// Groups a caller must hold to use the server's tools; `net` also gives the server network access.
    public var groups: [String]
    /// Host paths the server needs to read (its installation); the command's virtual
    /// environment or prefix is added automatically.
    public var readOnlyPaths: [String]
    /// Seconds the server has to start and list its tools (default 10, at most 600).
    public var startupTimeout: Double
    /// The user's description of some of the server's tools, by the tool's name on the server.
    public var tools: [String: MCPToolOverride]
    /// Whether the server's MCP annotations say what its tools do (default true); false
    /// gives every tool without an override the most restrictive effects.
    public var trustAnnotations: Bool
    /// The folder of the installed store package the server comes from, mounted read-only
    /// although it lies in Anima's data directory: it holds only the package's verified
    /// files. Never read from mcp.json; set by whoever built the configuration from the package.
    public var packageFolder: String?

    public init(
        name: String, command: String, args: [String] = [], env: [String: String] = [:], groups: [String] = [],
        readOnlyPaths: [String] = [],
        startupTimeout: Double = 10, tools: [String: MCPToolOverride] = [:], trustAnnotations: Bool = true
    ) {
        self.name = name
        self.command = command
        self.args = args
        self.env = env
        self.groups = groups
        self.readOnlyPaths = readOnlyPaths
        self.startupTimeout = startupTimeout
        self.tools = tools
        self.trustAnnotations = trustAnnotations
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        command = try c.decode(String.self, forKey: .command)
        args = try c.decodeIfPresent([String].self, forKey: .args) ?? []
        env = try c.decodeIfPresent([String: String].self, forKey: .env) ?? [:]
        groups = try c.decodeIfPresent([String].self, forKey: .groups) ?? []
        readOnlyPaths = try c.decodeIfPresent([String].self, forKey: .readOnlyPaths) ?? []
        startupTimeout = try c.decodeIfPresent(Double.self, forKey: .startupTimeout) ?? 10
        tools = try c.decodeIfPresent([String: MCPToolOverride].self, forKey: .tools) ?? [:]
        trustAnnotations = try c.decodeIfPresent(Bool.self, forKey: .trustAnnotations) ?? true
    }

    /// What the tool `remote` (its name on this server, with the server's `annotations`)
    /// does: the user's override, else the annotations if trusted, else the most restrictive.
    public func effects(of remote: String, annotations: MCP.Tool.Annotations) -> MCPToolEffects {
        var base = trustAnnotations ? MCPToolEffects(annotations: annotations, serverHasNetwork: network) : .unknown
        // A server with the network can always carry data out, whatever it claims.
        if network, !base.consequences.isEmpty { base.consequences.insert(.sendsData) }
        guard let override = tools[remote] else { return base }
        var effects = override.applied(to: base)
        if network, !effects.consequences.isEmpty { effects.consequences.insert(.sendsData) }
        return effects
    }

    /// Whether the server's sandbox shares the network.
    public var network: Bool { groups.contains("net") }

    /// The start-up limit as a duration (`startupTimeout` is checked by `validate`).
    var startupDuration: Duration { .milliseconds(Int((min(max(startupTimeout, 0.001), 600) * 1000).rounded())) }

    /// `startupTimeout` for messages, such as "10 s".
    var startupTimeoutText: String {
        startupTimeout == startupTimeout.rounded() ? "\(Int(startupTimeout)) s" : "\(startupTimeout) s"
    }

    /// The paths mounted read-only: the configured ones plus the installation the command
    /// lives in (`PREFIX/bin/command` mounts `PREFIX`; a command that is a link, as pipx
    /// and `uv tool` make, mounts its target's installation too).
    ///
    /// None of them may contain or lie inside a folder of `AnimaDirectories.protected`:
    /// `~/.local/bin/server` would otherwise mount `~/.local`, which holds Anima's data.
    /// Such an installation is mounted piece by piece, leaving out the branches that
    /// lead to Anima's folders; a configured path like that is refused.
    /// - Parameter protected: Anima's folders (default: this process's `AnimaDirectories.protected()`).
    func mountedPaths(protecting protected: [String] = AnimaDirectories.protected()) throws(ToolError) -> [String] {
        let guarded = protected.map(Self.canonical)
        var paths: [String] = []
        func add(_ path: String) {
            if !paths.contains(path) { paths.append(path) }
        }
        if let packageFolder { add(packageFolder) }
        for path in readOnlyPaths {
            let real = Self.canonical(path)
            if let folder = guarded.first(where: { Self.overlaps(real, $0) }) {
                throw .invalidArgument(
                    "MCP server \(name): readOnlyPaths entry \(path) \(Self.isInside(real, folder) ? "lies inside" : "contains") Anima's own folder \(folder), which no server may see; give a narrower path"
                )
            }
            add(path)
        }
        var installations = [command]
        let target = Self.canonical(command)
        if target != command { installations.append(target) }
        for executable in installations {
            if let packageFolder, Self.isInside(Self.canonical(executable), Self.canonical(packageFolder)) { continue }
            let directory = (executable as NSString).deletingLastPathComponent
            var prefix = directory
            if (directory as NSString).lastPathComponent == "bin" { prefix = (directory as NSString).deletingLastPathComponent }
            if prefix.hasPrefix("/usr") || prefix == "/" || prefix.isEmpty { continue }
            if let folder = guarded.first(where: { Self.isInside(Self.canonical(prefix), $0) }) {
                throw .invalidArgument(
                    "MCP server \(name): \(executable) is inside Anima's own folder \(folder), which no server may see; install the server elsewhere"
                )
            }
            var pieces: [String] = []
            Self.safePieces(of: prefix, avoiding: guarded, into: &pieces)
            guard pieces.count <= 64 else {
                throw .invalidArgument(
                    "MCP server \(name): \(prefix) holds Anima's own folders, and mounting it without them takes over 64 mounts; install the server in its own folder, or list what it needs in readOnlyPaths"
                )
            }
            pieces.forEach(add)
        }
        return paths
    }

    /// `path`, or its parts when it holds one of `guarded`: every branch that leads away
    /// from them, down to the folders that are theirs (which are left out).
    private static func safePieces(of path: String, avoiding guarded: [String], into pieces: inout [String]) {
        let real = canonical(path)
        guard pieces.count <= 64, !guarded.contains(where: { isInside(real, $0) }) else { return }
        guard guarded.contains(where: { isInside($0, real) }) else {
            pieces.append(path)
            return
        }
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return }
        for entry in ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() {
            safePieces(of: path + "/" + entry, avoiding: guarded, into: &pieces)
        }
    }

    /// Whether `path` is `folder` or inside it.
    private static func isInside(_ path: String, _ folder: String) -> Bool {
        path == folder || path.hasPrefix(folder.hasSuffix("/") ? folder : folder + "/")
    }

    private static func overlaps(_ a: String, _ b: String) -> Bool { isInside(a, b) || isInside(b, a) }

    /// `path` with links resolved as far as it exists, the rest appended as written.
    static func canonical(_ path: String) -> String {
        let standard = (path as NSString).standardizingPath
        if let real = realpath(standard, nil) {
            defer { free(real) }
            return String(cString: real)
        }
        let parent = (standard as NSString).deletingLastPathComponent
        guard parent != standard, !parent.isEmpty else { return standard }
        return (canonical(parent) as NSString).appendingPathComponent((standard as NSString).lastPathComponent)
    }

    /// Checks what can be checked before starting: a usable name and an absolute, executable command.
    public func validate() throws(ToolError) {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw .invalidArgument("MCP server name \"\(name)\" must be letters, digits, - or _")
        }
        guard command.hasPrefix("/") else { throw .invalidArgument("MCP server \(name): command \"\(command)\" must be an absolute path") }
        guard FileManager.default.isExecutableFile(atPath: command) else {
            throw .invalidArgument("MCP server \(name): \(command) is not an executable file; install the server or fix the path")
        }
        guard startupTimeout.isFinite, startupTimeout > 0, startupTimeout <= 600 else {
            throw .invalidArgument(
                "MCP server \(name): startupTimeout \(startupTimeout) must be a number of seconds above 0 and at most 600")
        }
    }

    /// The file the servers are configured in.
    public static var defaultFile: String { AnimaDirectories.config() + "/mcp.json" }

    /// Reads the servers from `path`; no file means no servers.
    public static func load(from path: String = defaultFile) throws(ToolError) -> [MCPServerConfiguration] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        struct File: Decodable { var servers: [MCPServerConfiguration] }
        do {
            let servers = try JSONDecoder().decode(File.self, from: data).servers
            var seen = Set<String>()
            for server in servers {
                try server.validate()
                guard seen.insert(server.name).inserted else {
                    throw ToolError.invalidArgument("\(path): two MCP servers are named \(server.name); give each its own name")
                }
            }
            return servers
        } catch let error as ToolError {
            throw error
        } catch {
            throw .invalidArgument(
                "\(path) is not a valid MCP configuration (expected {\"servers\": [{\"name\", \"command\", ...}]}): \(error)")
        }
    }
}
