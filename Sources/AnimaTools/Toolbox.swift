/// The tools a kernel offers: the built-ins and the tools of the user's MCP servers.
public struct Toolbox: Sendable {
    public var tools: [any Tool]
    public var drivers: [MCPDriver]
    /// Servers that could not start, with why; their tools are absent.
    public var problems: [String]

    public init(tools: [any Tool], drivers: [MCPDriver] = [], problems: [String] = []) {
        self.tools = tools
        self.drivers = drivers
        self.problems = problems
    }

    /// calculator, python, shell, files and web_fetch, plus web_search with a provider.
    public static func builtins(python: PythonSessions = PythonSessions(), search: (any SearchProvider)? = nil) -> [any Tool] {
        var tools: [any Tool] = [CalculatorTool(), PythonTool(sessions: python), ShellTool(), FilesTool(), WebTool()]
        if let search { tools.append(WebSearchTool(provider: search)) }
        return tools
    }

    /// The built-ins plus the tools of every server configured in `mcpFile`, each server
    /// started in its sandbox to list its tools. A server that fails is reported in
    /// `problems`, not fatal.
    public static func load(mcpFile: String = MCPServerConfiguration.defaultFile, sandbox: Sandbox = .standard) async -> Toolbox {
        var box = Toolbox(tools: builtins())
        let servers: [MCPServerConfiguration]
        do {
            servers = try MCPServerConfiguration.load(from: mcpFile)
        } catch {
            box.problems.append(error.description)
            return box
        }
        for server in servers {
            let driver = MCPDriver(server, sandbox: sandbox)
            do {
                box.tools += try await driver.start()
                box.drivers.append(driver)
            } catch {
                box.problems.append("\(error)")
            }
        }
        return box
    }

    /// Stops every MCP server.
    public func shutdown() async {
        for driver in drivers { await driver.stop() }
    }
}
