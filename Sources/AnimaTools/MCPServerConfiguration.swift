import Foundation

/// An MCP server the user installed as a driver: how to start it and who may use it.
///
/// Read from `$XDG_CONFIG_HOME/anima/mcp.json` (else `~/.config/anima/mcp.json`):
/// ```json
/// {"servers": [{"name": "time", "command": "/opt/mcp/bin/mcp-server-time",
///               "args": ["--local-timezone", "UTC"], "env": {}, "groups": []}]}
/// ```
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

    public init(name: String, command: String, args: [String] = [], env: [String: String] = [:], groups: [String] = [], readOnlyPaths: [String] = []) {
        self.name = name
        self.command = command
        self.args = args
        self.env = env
        self.groups = groups
        self.readOnlyPaths = readOnlyPaths
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        command = try c.decode(String.self, forKey: .command)
        args = try c.decodeIfPresent([String].self, forKey: .args) ?? []
        env = try c.decodeIfPresent([String: String].self, forKey: .env) ?? [:]
        groups = try c.decodeIfPresent([String].self, forKey: .groups) ?? []
        readOnlyPaths = try c.decodeIfPresent([String].self, forKey: .readOnlyPaths) ?? []
    }

    /// Whether the server's sandbox shares the network.
    public var network: Bool { groups.contains("net") }

    /// The paths mounted read-only: the configured ones plus the installation the command
    /// lives in (`PREFIX/bin/command` mounts `PREFIX`).
    var mountedPaths: [String] {
        var paths = readOnlyPaths
        let directory = (command as NSString).deletingLastPathComponent
        if (directory as NSString).lastPathComponent == "bin" {
            let prefix = (directory as NSString).deletingLastPathComponent
            if !prefix.hasPrefix("/usr"), prefix != "/", !paths.contains(prefix) { paths.append(prefix) }
        }
        return paths
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
    }

    /// The file the servers are configured in.
    public static var defaultFile: String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.config"
        return base + "/anima/mcp.json"
    }

    /// Reads the servers from `path`; no file means no servers.
    public static func load(from path: String = defaultFile) throws(ToolError) -> [MCPServerConfiguration] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        struct File: Decodable { var servers: [MCPServerConfiguration] }
        do {
            let servers = try JSONDecoder().decode(File.self, from: data).servers
            for server in servers { try server.validate() }
            return servers
        } catch let error as ToolError {
            throw error
        } catch {
            throw .invalidArgument("\(path) is not a valid MCP configuration (expected {\"servers\": [{\"name\", \"command\", ...}]}): \(error)")
        }
    }
}
