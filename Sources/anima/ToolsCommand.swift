import AnimaCommandSupport
import AnimaCore
import AnimaStore
import AnimaTools
import ArgumentParser
import Foundation

/// `anima tools`: what agents can call, what each call does, and who may make it.
struct ToolsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tools",
        abstract: "List the tools and MCP servers, with their effects and permissions.",
        discussion: """
            Built-in tools and the tools of the MCP servers configured in
            $XDG_CONFIG_HOME/anima/mcp.json and of installed tool packages (`anima store
            install`; verified first, and holding only what was granted); each server is
            started in its sandbox to list its tools. "groups" are what a caller must hold; every tool runs sandboxed.
            For an MCP tool, "effects" says what it does in detail and where that came
            from: the server's annotations, the user's override in mcp.json, or the
            default (no annotations: the most restrictive).

            Examples:
              anima tools
              anima tools --json
            """
    )

    @Option(help: "MCP server configuration file.")
    var mcpConfig: String = MCPServerConfiguration.defaultFile

    /// Anima's data directory, when not the default: the MCP servers started here must not see it.
    @OptionGroup var location: MemoryLocation

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        let packages = ToolPackages.load(store: try InstalledStore.at(location.directory))
        let box = await Toolbox.load(mcpFile: mcpConfig, extra: packages.servers)
        let servers = ((try? MCPServerConfiguration.load(from: mcpConfig)) ?? []) + packages.servers
        let problems = packages.problems + box.problems + (Sandbox.wholeSandboxLimitsProblem.map { ["sandbox: " + $0] } ?? [])
        if json {
            let tools = box.tools.map { tool -> JSONValue in
                [
                    "name": .string(tool.name), "description": .string(tool.description), "effect": .string(tool.effect.rawValue),
                    "needs": .array(tool.needs.map(\.rawValue).sorted().map { .string($0) }),
                    "groups": .array(tool.requiredGroups.sorted().map { .string($0) }), "parameters": tool.parameters.json,
                    "effects": Self.effectsJSON(tool),
                ]
            }
            let mcp = servers.map { server -> JSONValue in
                [
                    "name": .string(server.name), "command": .string(server.command), "groups": .array(server.groups.map { .string($0) }),
                    "network": .bool(server.network), "package": server.packageFolder == nil ? .null : .string(server.name),
                ]
            }
            print(
                JSONValue.object(["tools": .array(tools), "mcp_servers": .array(mcp), "problems": .array(problems.map { .string($0) })])
                    .jsonText)
        } else {
            let nameWidth = max(12, box.tools.map(\.name.count).max() ?? 0)
            print(
                "NAME".padding(toLength: nameWidth + 2, withPad: " ", startingAt: 0)
                    + "EFFECT        NEEDS               GROUPS        EFFECTS (FROM)")
            for tool in box.tools {
                let needs = tool.needs.map(\.rawValue).sorted().joined(separator: ",")
                let groups = tool.requiredGroups.sorted().joined(separator: ",")
                print(
                    tool.name.padding(toLength: nameWidth + 2, withPad: " ", startingAt: 0)
                        + tool.effect.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)
                        + (needs.isEmpty ? "-" : needs).padding(toLength: 20, withPad: " ", startingAt: 0)
                        + (groups.isEmpty ? "-" : groups).padding(toLength: 14, withPad: " ", startingAt: 0) + Self.effectsText(tool)
                )
            }
            print("\nMCP servers (\(mcpConfig), then installed tool packages):")
            if servers.isEmpty { print("  none configured") }
            for server in servers {
                let groups = server.groups.isEmpty ? "-" : server.groups.joined(separator: ",")
                print(
                    "  \(server.name): \(server.command) \(server.args.joined(separator: " "))  groups: \(groups)  network: \(server.network ? "yes" : "no")"
                        + (server.packageFolder == nil ? "" : "  (store package)")
                )
            }
            for problem in problems { print("  problem: \(problem)") }
        }
        await box.shutdown()
    }

    /// "writes, sends-data (annotation); to: recipient" for an MCP tool, "built-in" otherwise.
    static func effectsText(_ tool: any Tool) -> String {
        guard let effects = (tool as? MCPTool)?.effects else { return "built-in" }
        let roles = effects.argumentRoles.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.rawValue)" }
        return "\(effects.summary) (\(effects.origin.rawValue))" + (roles.isEmpty ? "" : "; " + roles.joined(separator: ", "))
    }

    static func effectsJSON(_ tool: any Tool) -> JSONValue {
        guard let effects = (tool as? MCPTool)?.effects else { return ["from": "built-in"] }
        var roles = JSONObject()
        for (name, role) in effects.argumentRoles { roles[name] = .string(role.rawValue) }
        return [
            "consequences": .array(effects.consequences.sorted().map { .string($0.rawValue) }), "idempotent": .bool(effects.idempotent),
            "open_world": .bool(effects.openWorld), "arguments": .object(roles), "from": .string(effects.origin.rawValue),
        ]
    }
}
