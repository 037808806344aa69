import AnimaCore
import Foundation

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

    /// The built-ins plus the tools of every server configured in `mcpFile` and of `extra`
    /// (installed tool packages), the servers started together, each in its sandbox, to
    /// list their tools. A server that fails (or takes longer than its `startupTimeout`)
    /// is reported in `problems`, not fatal; so is an extra server whose name is taken.
    public static func load(
        mcpFile: String = MCPServerConfiguration.defaultFile, extra: [MCPServerConfiguration] = [], sandbox: Sandbox = .standard
    ) async -> Toolbox {
        var box = Toolbox(tools: builtins())
        var servers: [MCPServerConfiguration]
        do {
            servers = try MCPServerConfiguration.load(from: mcpFile)
        } catch {
            box.problems.append(error.description)
            servers = []
        }
        for server in extra {
            if servers.contains(where: { $0.name == server.name }) {
                box.problems.append("MCP server \(server.name) of an installed package is left out: \(mcpFile) names a server so too")
            } else {
                servers.append(server)
            }
        }
        // All at once, so one slow server costs its own start-up time, not everyone's.
        let started = await withTaskGroup(of: (Int, MCPDriver, Result<[MCPTool], any Error>).self) { group in
            for (index, server) in servers.enumerated() {
                group.addTask {
                    let driver = MCPDriver(server, sandbox: sandbox)
                    do { return (index, driver, .success(try await driver.start())) } catch { return (index, driver, .failure(error)) }
                }
            }
            var results: [(Int, MCPDriver, Result<[MCPTool], any Error>)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }
        }
        for (_, driver, result) in started {
            switch result {
            case .success(let tools):
                box.tools += tools
                box.drivers.append(driver)
                box.problems += await driver.problems
            case .failure(let error):
                box.problems.append("\(error)")
            }
        }
        return box
    }

    /// The tools `selectors` choose (full names, servers, globs; see `ToolSelection`),
    /// starting MCP servers only when a selector needs them: built-in names alone start none.
    /// Servers none of whose tools were chosen are stopped again.
    /// - Throws: `ToolSelectionError` naming what exists when a selector chooses nothing.
    public static func load(
        selecting selectors: [String], mcpFile: String = MCPServerConfiguration.defaultFile, extra: [MCPServerConfiguration] = [],
        sandbox: Sandbox = .standard
    ) async throws(ToolSelectionError) -> Toolbox {
        let wanted = selectors.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if wanted.isEmpty { return Toolbox(tools: []) }
        let builtinNames = Set(builtins().map(\.name))
        let box =
            wanted.allSatisfy(builtinNames.contains)
            ? Toolbox(tools: builtins()) : await load(mcpFile: mcpFile, extra: extra, sandbox: sandbox)
        return try await box.selecting(wanted)
    }

    /// This toolbox with only the tools `selectors` choose; the servers left without a
    /// chosen tool are stopped. On an error every server is stopped.
    public func selecting(_ selectors: [String]) async throws(ToolSelectionError) -> Toolbox {
        let chosen: Set<String>
        do {
            chosen = Set(try ToolSelection.resolve(selectors, among: tools.map(\.name), problems: problems))
        } catch {
            await shutdown()
            throw error
        }
        var kept = Toolbox(tools: tools.filter { chosen.contains($0.name) }, problems: problems)
        for driver in drivers {
            if kept.tools.contains(where: { ($0 as? MCPTool)?.driver === driver }) {
                kept.drivers.append(driver)
            } else {
                await driver.stop()
            }
        }
        return kept
    }

    /// Stops every MCP server.
    public func shutdown() async {
        for driver in drivers { await driver.stop() }
    }
}
