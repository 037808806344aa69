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
    /// What the tool does in detail, and whether its server, the user or the default said so.
    public let effects: MCPToolEffects
    public let needs: Set<ToolNeed>
    public let requiredGroups: Set<String>
    public var argumentRoles: [String: ArgumentRole] { effects.argumentRoles }

    init(server: MCPDriver, tool: MCP.Tool) throws {
        let configuration = server.configuration
        guard Self.isValidName(tool.name) else {
            throw ToolError.invalidArgument(
                "MCP server \(configuration.name): a tool's name \(String(reflecting: String(tool.name.prefix(80)))) is not 1 to 128 letters, digits, _, - or . (as MCP asks); the tool is left out"
            )
        }
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
        effects = configuration.effects(of: tool.name, annotations: tool.annotations)
        effect = effects.effect
    }

    /// MCP's rule for tool names; it also keeps glob characters (`*`, `?`) out, so a
    /// server cannot name a tool after a selector or a policy rule.
    static func isValidName(_ name: String) -> Bool {
        (1...128).contains(name.utf8.count)
            && name.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0))
            }
    }

    public func perform(_ arguments: JSONValue, in context: ToolContext) async throws -> ToolResult {
        try await driver.call(remoteName, arguments: arguments)
    }
}
