import AnimaCommandSupport
import AnimaCore
import AnimaTools
import ArgumentParser
import Foundation

/// `anima tool`: use one tool by hand.
struct ToolCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tool", abstract: "Run a tool by hand.", subcommands: [ToolRunCommand.self])
}

/// `anima tool run NAME --args JSON`: one call, sandboxed, with the calling user's groups.
struct ToolRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one tool, sandboxed, as the calling user would.",
        discussion: """
            The arguments are checked against the tool's schema first (see `anima tools
            --json`). The call uses the workspace of agent "USER-cli" and the calling
            user's groups; a tool that needs a group the user lacks is refused.

            Examples:
              anima tool run calculator --args '{"expression": "2^100 / 3"}'
              anima tool run python --args '{"code": "import sys; sys.version"}'
              anima tool run shell --args '{"command": "ls -la"}'
              anima tool run web_fetch --args '{"url": "http://localhost:8000/"}' --group net
            """
    )

    @Argument(help: "The tool's name, as `anima tools` lists it.")
    var name: String

    @Option(help: "The arguments, a JSON object.")
    var args: String = "{}"

    @Option(help: "A group to hold for this call in addition to the user's (for example net); repeatable.")
    var group: [String] = []

    @Option(help: "MCP server configuration file.")
    var mcpConfig: String = MCPServerConfiguration.defaultFile

    /// Anima's data directory, when not the default: the MCP servers started here must not see it.
    @OptionGroup var location: MemoryLocation

    @Flag(help: "Print the typed result as JSON.")
    var json = false

    mutating func run() async throws {
        let arguments: JSONValue
        do {
            arguments = try JSONValue(parsing: args)
        } catch {
            throw ValidationError("--args is not JSON: \(error.description). Example: --args '{\"expression\": \"1+2\"}'")
        }
        let builtins = Toolbox.builtins()
        let box =
            builtins.contains(where: { $0.name == name })
            ? Toolbox(tools: builtins)
            : await Toolbox.load(mcpFile: mcpConfig, extra: ToolPackages.servers(store: try InstalledStore.at(location.directory)))
        guard let tool = box.tools.first(where: { $0.name == name }) else {
            await box.shutdown()
            throw ValidationError("no tool named \"\(name)\"; known: \(box.tools.map(\.name).joined(separator: ", "))")
        }
        let user = CurrentUser.principal
        let workspace = try Workspace(agent: "\(user.name)-cli")
        let context = ToolContext(agent: "\(user.name)-cli", workspace: workspace, groups: user.groups.union(group), sandbox: .standard)
        let result = await tool.call(arguments, in: context)
        await box.shutdown()
        print(json ? result.value.jsonText : result.text)
        if result.isError { throw ExitCode(1) }
    }
}
