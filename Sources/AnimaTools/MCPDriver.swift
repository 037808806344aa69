import AnimaCore
import Foundation
import MCP
import SystemPackage

/// An MCP server running as a driver: started in its own sandbox, spoken to over stdio
/// with the official MCP Swift SDK, its tools offered to agents as Anima tools.
public actor MCPDriver {
    public nonisolated let configuration: MCPServerConfiguration
    let sandbox: Sandbox
    let limits: SandboxLimits
    let workspaceBase: String
    private var process: SandboxedProcess?
    private var client: Client?
    private var tools: [MCPTool] = []

    /// - Parameters:
    ///   - workspaceBase: where the server's private writable directory is created.
    ///   - limits: for the server's process tree; `wallTime` is the limit per tool call.
    public init(
        _ configuration: MCPServerConfiguration, sandbox: Sandbox = .standard,
        limits: SandboxLimits = SandboxLimits(cpuSeconds: 3600, wallTime: .seconds(60)),
        workspaceBase: String = Workspace.defaultBase + "/.drivers"
    ) {
        self.configuration = configuration
        self.sandbox = sandbox
        self.limits = limits
        self.workspaceBase = workspaceBase
    }

    /// Starts the server if needed and returns its tools.
    public func start() async throws -> [MCPTool] {
        if client != nil, let process, process.isRunning { return tools }
        await stop()
        try configuration.validate()
        let workspace = try Workspace(agent: configuration.name, base: workspaceBase, sandbox: sandbox)
        let policy = SandboxPolicy(
            workspace: workspace, network: configuration.network, readOnlyPaths: configuration.mountedPaths,
            environment: configuration.env, limits: limits)
        let process = try sandbox.launch([configuration.command] + configuration.args, policy: policy)
        process.drainStderr()
        self.process = process
        let transport = StdioTransport(input: FileDescriptor(rawValue: process.stdoutFD), output: FileDescriptor(rawValue: process.stdinFD))
        let client = Client(name: "anima", version: "0.1.0")
        do {
            try await withTimeout(.seconds(30), "starting MCP server \(configuration.name)") {
                _ = try await client.connect(transport: transport)
            }
            self.client = client
            var listed: [MCP.Tool] = []
            var cursor: String?
            repeat {
                let current = cursor
                let page = try await withTimeout(.seconds(30), "listing the tools of \(configuration.name)") {
                    try await client.listTools(cursor: current)
                }
                listed += page.tools
                cursor = page.nextCursor
            } while cursor != nil && listed.count < 1000
            tools = try listed.map { try MCPTool(server: self, tool: $0) }
            return tools
        } catch {
            let stderr = String(decoding: process.stderrTail, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            await stop()
            throw ToolError.failed("MCP server \(configuration.name) did not start: \(error)\(stderr.isEmpty ? "" : "; its stderr: " + stderr.suffix(1000))")
        }
    }

    /// Calls one of the server's tools, within the per-call time limit.
    func call(_ tool: String, arguments: JSONValue) async throws -> ToolResult {
        _ = try await start()
        guard let client else { throw ToolError.failed("MCP server \(configuration.name) is not running") }
        let data = Data(arguments.jsonText.utf8)
        let values = try JSONDecoder().decode([String: Value].self, from: data)
        do {
            let (content, isError) = try await withTimeout(limits.wallTime, "\(configuration.name)__\(tool)") {
                try await client.callTool(name: tool, arguments: values)
            }
            var texts: [String] = []
            for item in content {
                switch item {
                case .text(let text, _, _): texts.append(text)
                case .image(_, let mimeType, _, _): texts.append("[image \(mimeType)]")
                case .audio(_, let mimeType, _, _): texts.append("[audio \(mimeType)]")
                case .resource(let resource, _, _): texts.append(resource.text ?? "[resource \(resource.uri)]")
                case .resourceLink(let uri, let name, _, _, _, _): texts.append("[link \(name) \(uri)]")
                }
            }
            let text = texts.joined(separator: "\n")
            return ToolResult(text: text.isEmpty ? "(no content)" : text, value: ["content": .string(text)], isError: isError ?? false)
        } catch let error as ToolError {
            await stop()  // a server that stopped answering is restarted on the next call
            throw error
        }
    }

    /// Stops the server and its sandbox.
    public func stop() async {
        if let client { await client.disconnect() }
        client = nil
        process?.terminate()
        process = nil
    }

    /// The process id of the server's sandbox, while it runs.
    public var sandboxPID: Int32? { process?.pid }

    private func withTimeout<T: Sendable>(_ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                throw ToolError.failed("\(what) took longer than \(limit); the server was stopped")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}
