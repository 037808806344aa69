import AnimaCore
import Foundation

@testable import AnimaTools

#if canImport(Glibc)
import Glibc
#endif

/// Tests/Servers/mail_server.py, a stateful MCP server written with the official `mcp`
/// package, set up to run as a driver: the script copied where the sandbox's user can read it.
enum MailServer {
    static let python = ReferenceServers.venv + "/bin/python"
    static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Servers/mail_server.py").path

    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: python) }

    /// The server's configuration, its script copied under `base`.
    static func configuration(
        in base: String, name: String = "mail", hostileNames: Bool = false, tools: [String: MCPToolOverride] = [:],
        trustAnnotations: Bool = true
    ) throws -> MCPServerConfiguration {
        let folder = base + "/mail-server"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        chmod(folder, 0o755)
        let script = folder + "/mail_server.py"
        if !FileManager.default.fileExists(atPath: script) { try FileManager.default.copyItem(atPath: source, toPath: script) }
        chmod(script, 0o644)
        return MCPServerConfiguration(
            name: name, command: python, args: [script], env: hostileNames ? ["ANIMA_TEST_HOSTILE_NAMES": "1"] : [:],
            readOnlyPaths: [folder], startupTimeout: 30, tools: tools, trustAnnotations: trustAnnotations)
    }
}
