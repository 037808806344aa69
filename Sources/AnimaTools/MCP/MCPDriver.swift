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
    private var transport: MCPPipeTransport?
    private var tools: [MCPTool] = []
    /// Consumers of resource updates, and whether the client's handler for them is set.
    private var resourceListeners: [UUID: AsyncStream<String>.Continuation] = [:]
    private var listening = false
    /// Tools of the server left out at its last start, and why (a name MCP does not allow).
    public private(set) var problems: [String] = []

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
    ///
    /// Gives up after the server's `startupTimeout`, or as soon as the server exits,
    /// floods its output or answers out of turn, with its stderr in the error.
    public func start() async throws -> [MCPTool] {
        if client != nil, let process, process.isRunning { return tools }
        await stop()
        try configuration.validate()
        let workspace = try Workspace(agent: configuration.name, base: workspaceBase, sandbox: sandbox)
        let policy = SandboxPolicy(
            workspace: workspace, network: configuration.network, readOnlyPaths: try configuration.mountedPaths(),
            environment: configuration.env, limits: limits)
        let process = try sandbox.launch([configuration.command] + configuration.args, policy: policy)
        process.drainStderr()
        self.process = process
        let transport = MCPPipeTransport(reading: process.stdoutFD, writing: process.stdinFD)
        self.transport = transport
        let client = Client(name: "anima", version: "0.1.0")
        let limit = configuration.startupDuration
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        do {
            try await withDeadline(
                deadline,
                "starting MCP server \(configuration.name) took longer than its startupTimeout (\(configuration.startupTimeoutText))"
            ) {
                _ = try await client.connect(transport: transport)
            }
            self.client = client
            var listed: [MCP.Tool] = []
            var cursor: String?
            repeat {
                let current = cursor
                let page = try await withDeadline(
                    deadline,
                    "listing the tools of \(configuration.name) took longer than its startupTimeout (\(configuration.startupTimeoutText))"
                ) {
                    try await client.listTools(cursor: current)
                }
                listed += page.tools
                cursor = page.nextCursor
            } while cursor != nil && listed.count < 1000
            problems = []
            var usable: [MCPTool] = []
            var names = Set<String>()
            for tool in listed {
                guard MCPTool.isValidName(tool.name), names.insert(tool.name).inserted else {
                    problems.append(
                        "MCP server \(configuration.name): tool name \(String(reflecting: String(tool.name.prefix(80)))) is not 1 to 128 letters, digits, _, - or . (as MCP asks), or is listed twice; the tool is left out"
                    )
                    continue
                }
                usable.append(try MCPTool(server: self, tool: tool))
            }
            tools = usable
            return tools
        } catch {
            // Give the stderr reader a moment to collect what a dying server said.
            try? await Task.sleep(for: .milliseconds(100))
            let stderr = String(decoding: process.stderrTail, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            await client.disconnect()  // fails its requests still waiting, so nothing is left behind
            await stop()
            throw ToolError.failed(
                "MCP server \(configuration.name) did not start: \(error)\(stderr.isEmpty ? "" : "; its stderr ends: " + stderr.suffix(1000))"
            )
        }
    }

    /// Calls one of the server's tools, within the per-call time limit.
    func call(_ tool: String, arguments: JSONValue) async throws -> ToolResult {
        _ = try await start()
        guard let client else { throw ToolError.failed("MCP server \(configuration.name) is not running") }
        let data = Data(arguments.jsonText.utf8)
        let values = try JSONDecoder().decode([String: Value].self, from: data)
        do {
            let (content, isError) = try await withDeadline(
                ContinuousClock.now + limits.wallTime,
                "\(configuration.name)__\(tool) took longer than \(limits.wallTime); the server was stopped"
            ) {
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

    /// Subscribes to the server's resource `uri` (`resources/subscribe`) and yields the URI
    /// of every `notifications/resources/updated` the server sends, until the consumer stops
    /// or the server stops (then the stream ends: subscribe again once it is back).
    public func resourceUpdates(uri: String) async throws -> AsyncStream<String> {
        _ = try await start()
        guard let client else { throw ToolError.failed("MCP server \(configuration.name) is not running") }
        if !listening {
            _ = await client.onNotification(ResourceUpdatedNotification.self) { [weak self] message in
                await self?.deliver(message.params.uri)
            }
            listening = true
        }
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let id = UUID()
        resourceListeners[id] = continuation
        continuation.onTermination = { _ in Task { await self.removeListener(id) } }
        do {
            try await withDeadline(
                ContinuousClock.now + limits.wallTime, "subscribing to \(uri) on \(configuration.name) took longer than \(limits.wallTime)"
            ) {
                try await client.subscribeToResource(uri: uri)
            }
        } catch {
            continuation.finish()
            throw ToolError.failed("MCP server \(configuration.name) would not subscribe to \(uri): \(error)")
        }
        return stream
    }

    func deliver(_ uri: String) {
        for continuation in resourceListeners.values { continuation.yield(uri) }
    }

    func removeListener(_ id: UUID) { resourceListeners[id] = nil }

    /// Stops the server and its sandbox.
    public func stop() async {
        for continuation in resourceListeners.values { continuation.finish() }
        resourceListeners = [:]
        listening = false
        if let client { await client.disconnect() }
        client = nil
        if let transport { await transport.disconnect() }
        transport = nil
        process?.terminate()
        process = nil
    }

    /// The process id of the server's sandbox, while it runs.
    public var sandboxPID: Int32? { process?.pid }

    /// `body`'s result, or an error when `deadline` passes or the server's output ends
    /// first. It does not wait for `body` to notice: the SDK's requests ignore
    /// cancellation, which is why a task-group timeout never fired.
    private func withDeadline<T: Sendable>(
        _ deadline: ContinuousClock.Instant, _ lateMessage: String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let transport = self.transport
        let race = FirstOutcome<T>()
        return try await withCheckedThrowingContinuation { continuation in
            race.begin(continuation)
            let work = Task { race.finish(await Result(awaiting: body)) }
            let timer = Task {
                try? await Task.sleep(until: deadline, clock: .continuous)
                race.finish(.failure(ToolError.failed(lateMessage)))
            }
            let watcher = Task {
                while !Task.isCancelled {
                    if let ending = await transport?.ending {
                        try? await Task.sleep(for: .milliseconds(100))  // an answer sent just before the end still counts
                        race.finish(.failure(ToolError.failed("\(ending)")))
                        return
                    }
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
            race.onFinish {
                work.cancel()
                timer.cancel()
                watcher.cancel()
            }
        }
    }
}

/// The first of several outcomes, delivered once to a continuation.
private final class FirstOutcome<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var cleanup: (@Sendable () -> Void)?
    private var done = false

    func begin(_ continuation: CheckedContinuation<T, any Error>) {
        lock.withLock { self.continuation = continuation }
    }

    func onFinish(_ cleanup: @escaping @Sendable () -> Void) {
        let run = lock.withLock { () -> Bool in
            if done { return true }
            self.cleanup = cleanup
            return false
        }
        if run { cleanup() }
    }

    func finish(_ result: Result<T, any Error>) {
        let taken = lock.withLock { () -> (CheckedContinuation<T, any Error>?, (@Sendable () -> Void)?) in
            guard !done else { return (nil, nil) }
            done = true
            defer {
                continuation = nil
                cleanup = nil
            }
            return (continuation, cleanup)
        }
        taken.0?.resume(with: result)
        taken.1?()
    }
}

extension Result where Failure == any Error {
    /// The outcome of an async throwing body.
    fileprivate init(awaiting body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
