import AnimaCore
import AnimaStore
import AnimaTools
import Foundation

/// Installed tool packages as MCP servers: each verified before it starts, run in the
/// sandbox with its package folder read-only, its tools callable only by holders of the
/// groups it was granted (`network` granted: the `net` group, which also gives the server
/// the network; not granted: no network).
package enum ToolPackages {
    /// The servers of the installed tool packages, and why any was left out.
    package static func load(store: PackageStore) -> (servers: [MCPServerConfiguration], problems: [String]) {
        let (packages, problems) = store.contents(of: .tool)
        var servers: [MCPServerConfiguration] = []
        var all = problems
        for package in packages {
            guard let tool = package.manifest.tool else {
                all.append("package \(package.record.name): its manifest has no tool section; reinstall it")
                continue
            }
            let entry = package.directory.appendingPathComponent(tool.entry).path
            var server = MCPServerConfiguration(
                name: serverName(package.record.name), command: tool.interpreter ?? entry,
                args: (tool.interpreter == nil ? [] : [entry]) + tool.args, groups: package.record.processGroups.sorted(),
                startupTimeout: tool.startupTimeout ?? 10)
            server.packageFolder = package.directory.path
            servers.append(server)
        }
        return (servers, all)
    }

    /// Just the servers, warning on standard error about the packages left out.
    package static func servers(store: PackageStore) -> [MCPServerConfiguration] {
        let (servers, problems) = load(store: store)
        for problem in problems { Terminal.error("warning: \(problem)\n") }
        return servers
    }

    /// The servers of the tool packages installed in a data directory (`<data>/store`);
    /// a store that cannot be opened is a warning and no servers, never a failed start.
    package static func servers(dataDirectory: URL) -> [MCPServerConfiguration] {
        do {
            return servers(store: try InstalledStore.at(dataDirectory))
        } catch {
            Terminal.error("warning: the installed tool packages are left out: \(error)\n")
            return []
        }
    }

    /// A package name as a server name (letters, digits, - and _): `.` becomes `_`.
    package static func serverName(_ package: String) -> String { package.replacingOccurrences(of: ".", with: "_") }
}
