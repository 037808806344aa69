import AnimaCore
import AnimaKernel
import AsyncHTTPClient
import Foundation
import NIOCore

/// The side effects of workflow steps, done for a run's owner.
///
/// The engine records each step's start (with its idempotency key) before calling one of
/// these, and its result after; an implementation passes the key on where the receiver can
/// use it, so an attempt repeated after a crash acts once.
public protocol StepActions: Sendable {
    func runAgent(_ request: AgentStepRequest, as owner: Principal) async throws -> LabeledValue
    func callTool(_ name: String, arguments: JSONValue, as owner: Principal) async throws -> LabeledValue
    func http(_ request: HTTPStepRequest) async throws -> LabeledValue
    /// Records a run's lifecycle event in the audit trail (a no-op where there is none).
    func record(_ event: RunEvent) async
}

extension StepActions {
    public func record(_ event: RunEvent) async {}
}

/// A moment in a run's life that the audit trail keeps: started, resumed, a step completed
/// or failed, cancelled, approved, rejected, finished. Values travel only to be digested.
public struct RunEvent: Sendable, Hashable {
    /// `run-started`, `run-resumed`, `step-completed`, `step-failed`, `cancel-requested`,
    /// `approved`, `rejected`, `run-completed`, `run-failed`, `run-cancelled`.
    public var event: String
    public var run: String
    public var step: String?
    /// Who acts: the run's owner, or whoever cancelled or decided.
    public var actor: String
    /// What the event carries (an output, a prompt), recorded as a digest.
    public var content: String?
    /// Why it failed, recorded as a digest.
    public var failure: String?

    public init(_ event: String, run: String, step: String? = nil, actor: String, content: String? = nil, failure: String? = nil) {
        self.event = event
        self.run = run
        self.step = step
        self.actor = actor
        self.content = content
        self.failure = failure
    }
}

public struct AgentStepRequest: Sendable, Hashable {
    public var task: String
    public var tools: [String]
    public var groups: Set<String>?
    public var memory: String?
    public var model: String?
    public var key: String
}

public struct HTTPStepRequest: Sendable, Hashable {
    public var method: String
    public var url: URL
    public var headers: [String: String]
    public var body: String?
    public var key: String
    public var timeout: Double
}

/// A failed attempt; `retryable` says whether trying again may help.
public struct StepFailure: Error, Sendable, CustomStringConvertible {
    public var description: String
    public var retryable: Bool

    public init(_ description: String, retryable: Bool) {
        self.description = description
        self.retryable = retryable
    }
}

/// Steps done through the kernel (agents, tools, MCP tools: authorised and audited there) and
/// HTTP requests sent with an `Idempotency-Key` header.
public struct KernelStepActions: StepActions {
    public let kernel: Kernel?

    public init(kernel: Kernel?) { self.kernel = kernel }

    /// Connections per host that HTTP steps may hold at once: as many as the runs an engine
    /// executes by default. The shared client's 8 queued a daemon's 64 runs calling one
    /// service behind 8 requests, so a daemon waited on I/O 8 at a time.
    public static let connectionsPerHost = 64

    /// The HTTP steps' client, for the life of the process.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connectionsPerHost
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    func requireKernel() throws -> Kernel {
        guard let kernel else {
            throw StepFailure("this daemon has no kernel to run agents and tools; run the workflow through `anima serve`", retryable: false)
        }
        return kernel
    }

    public func runAgent(_ request: AgentStepRequest, as owner: Principal) async throws -> LabeledValue {
        let kernel = try requireKernel()
        var spec = AgentSpec(
            name: "workflow-agent", task: request.task, tools: request.tools, groups: request.groups, memory: request.memory)
        spec.model = request.model
        let pid = try await kernel.spawn(spec, owner: owner)
        switch try await kernel.wait(pid) {
        case .completed(let answer): return LabeledValue(.string(answer), label: ProvenanceLabel(.agent(pid.rawValue)))
        case .failed(let reason): throw StepFailure("the agent failed: \(reason)", retryable: true)
        case .killed: throw StepFailure("the agent was killed", retryable: true)
        case .quotaExceeded(let which): throw StepFailure("the agent ran out of \(which)", retryable: false)
        }
    }

    public func callTool(_ name: String, arguments: JSONValue, as owner: Principal) async throws -> LabeledValue {
        let kernel = try requireKernel()
        let result = try await kernel.invoke(
            .callTool(ToolCall(id: Hex.randomID(), name: name, arguments: arguments)), as: owner, name: "workflow")
        guard case .toolOutput(let output) = result else { throw StepFailure("the tool returned no output", retryable: false) }
        if output.isError { throw StepFailure("tool \(name): \(output.text)", retryable: false) }
        // Structured output (an object or a list) stays structured; anything else is text.
        // (Not `flatMap { ... ? $0 : nil }`: JSONValue takes `nil` as a literal, which made it null.)
        var value = JSONValue.string(output.text)
        if let parsed = try? JSONValue(parsing: output.text), parsed.objectValue != nil || parsed.arrayValue != nil { value = parsed }
        return LabeledValue(value, label: output.label ?? ProvenanceLabel(.tool(name)))
    }

    public func record(_ event: RunEvent) async {
        await kernel?.recordWorkflowEvent(
            event.event, run: event.run, step: event.step, owner: event.actor, content: event.content, failure: event.failure)
    }

    public func http(_ request: HTTPStepRequest) async throws -> LabeledValue {
        var r = HTTPClientRequest(url: request.url.absoluteString)
        r.method = .init(rawValue: request.method)
        for (name, value) in request.headers { r.headers.add(name: name, value: value) }
        r.headers.replaceOrAdd(name: "Idempotency-Key", value: request.key)
        if let body = request.body { r.body = .bytes(ByteBuffer(string: body)) }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await Self.client.execute(r, timeout: .milliseconds(Int64(request.timeout * 1000)))
            bytes = try await response.body.collect(upTo: 8 << 20)
        } catch {
            throw StepFailure("\(request.method) \(request.url.absoluteString): \(error)", retryable: true)
        }
        let text = String(buffer: bytes)
        guard (200..<300).contains(Int(response.status.code)) else {
            let code = Int(response.status.code)
            throw StepFailure(
                "\(request.method) \(request.url.absoluteString) answered \(code): \(text.prefix(200))",
                retryable: code >= 500 || code == 429)
        }
        let body: JSONValue = (try? JSONValue(parsing: text)) ?? .string(text)
        return LabeledValue(.object(["status": .number(Double(response.status.code)), "body": body]), label: ProvenanceLabel(.web))
    }
}
