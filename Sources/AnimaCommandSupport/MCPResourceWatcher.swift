import AnimaAutomation
import AnimaTools
import Foundation

/// Workflows' `mcp_resource` triggers served by the daemon's MCP drivers.
package struct MCPResourceWatcher: ResourceWatching {
    let drivers: [MCPDriver]

    package init(drivers: [MCPDriver]) { self.drivers = drivers }

    package func updates(server: String, uri: String) async throws -> AsyncStream<String> {
        guard let driver = drivers.first(where: { $0.configuration.name == server }) else {
            throw ToolError.failed(
                "no MCP server named \(server) runs here (servers: \(drivers.map(\.configuration.name).joined(separator: ", "))); add it to mcp.json"
            )
        }
        return try await driver.resourceUpdates(uri: uri)
    }
}
