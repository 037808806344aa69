import AnimaCore
import Foundation
import MCP

/// A tool of an MCP server, offered to agents like a built-in: validated against the
/// server's input schema before the server sees it, and run by a sandboxed server.
public struct MCPTool: Tool {
    public let driver: MCPDriver
    /// The tool's name on its server.
    public let remoteName: String
    public let name: String
    public let description: String
    public let parameters: JSONSchema
    public let effect: ToolEffect
    public let needs: Set<ToolNeed>
    public let requiredGroups: Set<String>

    init(server: MCPDriver, tool: MCP.Tool) throws {
        let configuration = server.configuration
        driver = server
        remoteName = tool.name
        name = "\(configuration.name)__\(tool.name)"
        description = "[MCP server \(configuration.name)] " + (tool.description ?? tool.name)
        let schemaText = String(decoding: try JSONEncoder().encode(tool.inputSchema), as: UTF8.self)
        do {
            parameters = try JSONSchema(JSONValue(parsing: schemaText))
        } catch {
            throw ToolError.failed("MCP server \(configuration.name): tool \(tool.name) has an input schema Anima cannot use: \(error)")
        }
        var needs: Set<ToolNeed> = [.workspace]
        for group in configuration.groups {
            if let need = ToolNeed.allCases.first(where: { $0.group == group }) { needs.insert(need) }
        }
        self.needs = needs
        requiredGroups = Set(configuration.groups)
        if configuration.network || tool.annotations.openWorldHint == true {
            effect = .network
        } else if tool.annotations.readOnlyHint == true {
            effect = .readOnly
        } else {
            effect = .write
        }
    }

    public func perform(_ arguments: JSONValue, in context: ToolContext) async throws -> ToolResult {
        try await driver.call(remoteName, arguments: arguments)
    }
}
