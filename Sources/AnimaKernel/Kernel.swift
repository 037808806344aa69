import AnimaCore
import AnimaMemory
import AnimaProcessor
import AnimaSecurity
import AnimaTools
import Foundation

/// The kernel: it keeps the process table, runs agent programs as processes, and is the
/// only path from a process to the processor, tools, memory and other processes.
///
/// Every request a process makes is a `Syscall`: the authoriser checks it first (a denied
/// syscall has no side effect), the kernel carries it out, and the audit trail records it
/// with its outcome. So is every public entry point that acts (`spawn`, `invoke`,
/// `signal`). Generations go to the processor; the kernel's `Scheduler` decides which of them
/// holds a slot; killing a process frees its slot and KV state at once.
///
/// This file holds the actor, its configuration and the syscall dispatch; each concern
/// has its extension file: `Kernel+Processes`, `+Signals`, `+Generation`, `+Tools`,
/// `+Memory`, `+IPC`, `+Audit`. Security decisions come from the `SecurityMonitor`.
public actor Kernel {
    public struct Configuration: Sendable {
        /// The model generations run on; nil for a kernel that serves only memory, IPC and
        /// tools (`anima memory forget`), whose generation syscalls fail with `.noModel`.
        public var processor: (any LanguageModel)?
        public var tools: [any SystemTool]
        /// Persistent memory for agents that ask for it (`AgentSpec.memory`); nil: none.
        public var memory: MemorySystem?
        public var authorizer: any SyscallAuthorizer
        public var audit: any AuditTrail
        public var clock: any Clock<Duration>
        /// Most processes alive at once.
        public var maxProcesses: Int
        /// Provenance policies and guards; nil runs with the `open` monitor (owner/group
        /// rules and the audit trail still apply).
        public var security: SecurityMonitor?
        /// Seals content (tool arguments, tasks, passages, queries) in audit records; a key
        /// for this process only unless the data directory's is given (`standard`).
        public var auditDigest: AuditDigest = .ephemeral()
        /// How long a tool call waits for a person's yes before it is denied.
        public var approvalTimeout: Duration = .seconds(300)

        public init(
            processor: (any LanguageModel)?, tools: [any SystemTool] = [], memory: MemorySystem? = nil,
            authorizer: (any SyscallAuthorizer)? = nil,
            audit: any AuditTrail = MemoryAuditTrail(), clock: any Clock<Duration> = ContinuousClock(), maxProcesses: Int = 1024,
            security: SecurityMonitor? = nil
        ) {
            self.security = security
            self.processor = processor
            self.tools = tools
            self.memory = memory
            self.authorizer =
                authorizer
                ?? OwnerGroupAuthorizer(
                    toolGroups: Dictionary(tools.map { ($0.definition.name, $0.requiredGroups) }, uniquingKeysWith: { a, _ in a }))
            self.audit = audit
            self.clock = clock
            self.maxProcesses = maxProcesses
        }
    }

    /// A program a process runs; what it returns is its answer.
    public typealias Program = @Sendable (ProcessContext) async throws -> String

    public nonisolated let processor: (any LanguageModel)?
    let tools: [String: any SystemTool]
    let memorySystem: MemorySystem?
    let authorizer: any SyscallAuthorizer
    var audit: KernelAudit
    let clock: any Clock<Duration>
    let maxProcesses: Int
    /// Every security decision the kernel carries out comes from here; `reloadPolicy`
    /// replaces its policy while processes run.
    var security: SecurityMonitor
    /// The SHA-256 of the policy file in force: the one the monitor was made from, then the
    /// one `reloadPolicy` last applied; nil while neither is known.
    var policyDigest: String?
    /// The last file `reloadPolicy` refused, and why: the same file again is not recorded again.
    var refusedPolicy: (digest: String, reason: String)?
    /// Who answers the monitor's questions about tool calls, and the questions waiting.
    public nonisolated let approvals: Approvals

    var table = ProcessTable()
    var messageSequence: UInt64 = 0
    /// The owners' values for the `memory` read/write/erase/list syscalls.
    var keyValues = KeyValueStore()
    /// The readers of messages in flight whose bodies hold restricted data, by sequence.
    var messageReaders: [UInt64: Set<String>] = [:]
    /// How many messages in flight carry restricted data (for tests).
    var restrictedMessagesInFlight: Int { messageReaders.count }
    var observers: [UUID: Observer] = [:]

    public init(_ configuration: Configuration) {
        processor = configuration.processor
        tools = Dictionary(configuration.tools.map { ($0.definition.name, $0) }, uniquingKeysWith: { a, _ in a })
        memorySystem = configuration.memory
        authorizer = configuration.authorizer
        audit = KernelAudit(trail: configuration.audit, digest: configuration.auditDigest)
        clock = configuration.clock
        maxProcesses = configuration.maxProcesses
        let approvals = Approvals(timeout: configuration.approvalTimeout)
        self.approvals = approvals
        var security = configuration.security ?? .open
        if security.ask == nil, security.confirm == nil { security.ask = { await approvals.ask($0) } }
        self.security = security
        policyDigest = security.fileDigest
        approvals.bind(
            asked: { [weak self] in await self?.approvalAsked($0) },
            settled: { [weak self] in await self?.approvalSettled($0, $1, channel: $2) })
    }

    /// Tool definitions by name, for programs and for `anima tools`.
    public var toolDefinitions: [ToolDefinition] { tools.values.map(\.definition).sorted { $0.name < $1.name } }

    /// A tool as the monitor treats it, for people to read (the console's tools view).
    public struct ToolSummary: Sendable {
        public var definition: ToolDefinition
        /// The effect checks use: the policy's rule for the tool first, else what the tool declares.
        public var effect: ToolEffect
        /// True when the policy's rule set `effect`, overriding the tool's own.
        public var effectFromPolicy: Bool
        public var requiredGroups: Set<String>
        /// Where its output is labelled as coming from.
        public var outputSource: ProvenanceSource
        /// An MCP tool's effects in words and where they came from; nil for a built-in tool.
        public var mcpEffects: String?
    }

    /// Every tool, by name, with its effect under the policy in force.
    public var toolSummaries: [ToolSummary] {
        tools.values.map { tool in
            let rule = security.engine.policy.rule(for: tool.definition.name)?.effect
            let mcp = ((tool as? ToolAdapter)?.tool as? MCPTool)?.effects
            return ToolSummary(
                definition: tool.definition, effect: rule ?? tool.effect, effectFromPolicy: rule != nil, requiredGroups: tool.requiredGroups,
                outputSource: tool.outputSource, mcpEffects: mcp.map { "\($0.summary) (from \($0.origin.rawValue))" })
        }.sorted { $0.definition.name < $1.definition.name }
    }

    /// Makes one syscall on behalf of `owner`, from a short-lived process of theirs, so that
    /// requests arriving from outside (the API, MCP) are authorised and audited like any.
    ///
    /// `interrupt`, when fired, terminates the request's process (see `RequestInterrupt`).
    public func invoke(
        _ call: Syscall, as owner: Principal, name: String = "request", onEvent: GenerationSink? = nil,
        interrupt: RequestInterrupt? = nil
    ) async throws -> SyscallResult {
        if case .generate = call, let processor, processor.routing == nil, processor.timeSharing != nil {
            return try await generateInCallersTask(call, as: owner, name: name, onEvent: onEvent, interrupt: interrupt)
        }
        let box = ResultBox()
        // The request process only carries `call`, which is authorised and audited itself.
        let pid = try start(name: name, owner: owner) { context in
            do {
                box.result = try await context.kernel.syscall(context.pid, call, sink: onEvent)
            } catch {
                box.error = error
                throw error
            }
            return ""
        }
        arm(interrupt, pid)
        defer { interrupt?.disarm() }
        // A caller that goes away (a closed connection) takes its request down with it.
        let status = try await withTaskCancellationHandler {
            try await wait(pid)
        } onCancel: {
            Task { try? await self.signal(pid, .terminate) }
        }
        reap(pid)  // its creator has its status: nothing else will ask for it
        return try Self.requestOutcome(status, result: box.result, error: box.error)
    }

    /// `invoke` for a generation on a time-shared processor: the request process runs in its
    /// caller's task rather than a task of its own, which saves the hand-offs of starting,
    /// waiting for and ending one (the daemon's own cost, issue 24). A kill still stops it,
    /// since terminating a process cancels its generation; nothing else in the syscall waits.
    private func generateInCallersTask(
        _ call: Syscall, as owner: Principal, name: String, onEvent: GenerationSink?, interrupt: RequestInterrupt?
    ) async throws -> SyscallResult {
        var call = call
        // A request process lives only for its answer: its caller wants the answer whole (the
        // kernel still streams it to a sink or an observer, see `generate`).
        if case .generate(var request) = call {
            request.wholeAnswer = true
            call = .generate(request)
        }
        let pid = try start(name: name, owner: owner, program: nil)
        defer { reap(pid) }
        arm(interrupt, pid)
        defer { interrupt?.disarm() }
        var result: SyscallResult?
        var thrown: (any Error)?
        do {
            result = try await withTaskCancellationHandler {
                try await syscall(pid, call, sink: onEvent)
            } onCancel: {
                Task { try? await self.signal(pid, .terminate) }
            }
        } catch {
            thrown = error
        }
        // A caller that went away may have ended the generation's stream early: that is a kill.
        if Task.isCancelled { terminate(pid, status: .killed) }
        exit(pid, thrown.map(ExitStatus.init(ending:)) ?? .completed(""))
        return try Self.requestOutcome(table[pid]?.exitStatus ?? .killed, result: result, error: thrown)
    }

    /// Lets `interrupt` terminate request process `pid` (at once if it has fired).
    private func arm(_ interrupt: RequestInterrupt?, _ pid: PID) {
        guard let interrupt else { return }
        if !interrupt.arm({ Task { try? await self.signal(pid, .terminate) } }) { terminate(pid, status: .killed) }
    }

    /// What `invoke` returns or throws for a request process that ended with `status`.
    private static func requestOutcome(_ status: ExitStatus, result: SyscallResult?, error: (any Error)?) throws -> SyscallResult {
        switch status {
        case .completed:
            guard let result else { throw SyscallError.failed("the request ended without a result") }
            return result
        case .failed(let reason): throw error ?? SyscallError.failed(reason)
        case .killed: throw CancellationError()
        case .quotaExceeded(let which): throw SyscallError.quotaExceeded(which)
        }
    }

    /// Live events: spawns, state changes, text, tool calls, exits, of the processes
    /// `following` accepts (every process unless given).
    ///
    /// An observer that follows only some processes (the console's conversations) costs
    /// the others nothing: a process no observer follows streams no text, so its output
    /// is screened once, whole, rather than chunk by chunk (see `generate`).
    public func events(following: @escaping @Sendable (PID) -> Bool = { _ in true }) -> AsyncStream<KernelEvent> {
        let (stream, continuation) = AsyncStream<KernelEvent>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let id = UUID()
        observers[id] = Observer(continuation: continuation, follows: following)
        continuation.onTermination = { [weak self] _ in Task { await self?.removeObserver(id) } }
        return stream
    }

    struct Observer {
        let continuation: AsyncStream<KernelEvent>.Continuation
        let follows: @Sendable (PID) -> Bool
    }

    func removeObserver(_ id: UUID) { observers[id] = nil }

    /// Whether some observer follows process `pid`.
    func isObserved(_ pid: PID) -> Bool { observers.values.contains { $0.follows(pid) } }

    func emit(_ event: KernelEvent) {
        for observer in observers.values where observer.follows(event.pid) { observer.continuation.yield(event) }
    }

    // MARK: Syscalls

    /// Every event of a generation as it happens, for callers that stream it on.
    public typealias GenerationSink = @Sendable (GenerationEvent) -> Void

    /// The single entry point for everything a process asks.
    func syscall(_ pid: PID, _ call: Syscall, sink: GenerationSink? = nil) async throws -> SyscallResult {
        guard let process = table[pid], process.isAlive else { throw SyscallError.processExited(pid) }
        if process.suspended {
            await withCheckedContinuation { process.suspendedWaiters.append($0) }
        }
        guard process.isAlive else { throw SyscallError.processExited(pid) }
        if let failure = audit.failure {
            throw SyscallError.permissionDenied(
                syscall: call.name, reason: "the audit trail cannot be written (\(failure)); nothing runs unrecorded")
        }
        var call = call
        let target: ProcessRecord? =
            switch call {
            case .wait(let t), .signal(let t, _), .send(let t, _): table[t]
            default: nil
            }
        if let reason = authorizer.deny(call, by: credentials(process), target: target.map(credentials)) {
            recordAudit(pid: pid, owner: process.owner.name, call, .denied(reason))
            throw SyscallError.permissionDenied(syscall: call.name, reason: reason)
        }
        if case .generate(var request) = call {
            // The request is built from the process's context: it is at least as private as
            // that, and the audit record says so.
            request.privacy = request.privacy.joined(with: process.privacy)
            call = .generate(request)
        }
        if case .callTool(let toolCall) = call {
            call = .callTool(try await screen(toolCall, for: process))
        }
        if case .send(_, let body) = call, let target,
            // Data only some principals may read does not go to another principal's process.
            let reason = security.disclosureDenial(of: body.text, to: target.owner.name, context: process.provenance)
        {
            recordAudit(pid: pid, owner: process.owner.name, call, .denied(reason))
            throw SyscallError.permissionDenied(syscall: call.name, reason: reason)
        }
        process.usage.syscalls += 1
        do {
            let result: SyscallResult
            do {
                result = try await perform(call, for: process, sink: sink)
            } catch MemoryError.invalidRequest(let reason) {
                throw SyscallError.invalidArguments(reason)
            }
            recordAudit(pid: pid, owner: process.owner.name, call, .completed)
            return result
        } catch {
            recordAudit(pid: pid, owner: process.owner.name, call, .failed("\(error)"))
            throw error
        }
    }

    func perform(_ call: Syscall, for process: ProcessRecord, sink: GenerationSink?) async throws -> SyscallResult {
        switch call {
        case .generate(let request):
            return .generated(try await generate(request, for: process, sink: sink))
        case .callTool(let toolCall):
            return .toolOutput(try await callTool(toolCall, for: process))
        case .spawn(let spec):
            var spec = spec
            spec.groups = spec.groups ?? process.groups
            return .spawned(try start(spec, owner: process.owner, parent: process.pid))
        case .wait(let pid):
            return .exited(try await blocked(process, on: "wait") { () async throws(SyscallError) in try await self.wait(pid) })
        case .signal(let pid, let signal):
            guard let target = table[pid] else { throw SyscallError.noSuchProcess(pid) }
            try await deliver(signal, to: target)
            return .done
        case .send(let pid, let body):
            guard let target = table[pid] else { throw SyscallError.noSuchProcess(pid) }
            guard target.isAlive else { throw SyscallError.processExited(pid) }
            messageSequence += 1
            if let readers = security.readers(of: body.text, in: process.provenance) {
                messageReaders[messageSequence] = readers  // the receiver's ledger keeps them
            }
            target.mailbox.deliver(Message(from: process.pid, body: body, sequence: messageSequence, privacy: process.privacy))
            return .done
        case .receive(let timeout):
            let message = await blocked(process, on: "receive") { await self.receive(for: process, timeout: timeout) }
            if let message { process.privacy = process.privacy.joined(with: message.privacy) }
            if let message {
                let readers = messageReaders.removeValue(forKey: message.sequence)
                // Only the kernel sends from its own pid: an owner's turn, in their words (see `tell`).
                if message.from == .kernel {
                    security.observe(message.body["turn"]?.stringValue ?? message.body.text, label: .user, in: &process.provenance)
                } else {
                    security.observe(
                        message.body.text, label: ProvenanceLabel(.agent(message.from.rawValue), readers: readers), in: &process.provenance)
                }
            }
            return .message(message)
        case .memory(.attach(let agent, let systemPrefix)):
            return .pager(try await attachMemory(agent, systemPrefix: systemPrefix, for: process))
        case .memory(.forget(let agent, let recallIDs, let archivalIDs)):
            return .erased(
                try await persistentMemory().forget(
                    user: process.owner.name, agent: agent, recallIDs: recallIDs, archivalIDs: archivalIDs))
        case .memory(.search(let request)):
            takeIn(ProvenanceLabel(.memory), process)
            return .records(try await persistentMemory().search(user: process.owner.name, request))
        case .memory(.insert(let agent, let passages)):
            return .inserted(try await persistentMemory().insert(user: process.owner.name, agent: agent, passages: passages))
        case .memory(.agents):
            return .agents(try await persistentMemory().store.namespaces(user: process.owner.name).map(\.agent))
        case .memory(.show(let agent)):
            takeIn(ProvenanceLabel(.memory), process)
            return .snapshot(try await persistentMemory().snapshot(user: process.owner.name, agent: agent))
        case .memory(let operation):
            return perform(operation, for: process)
        case .listProcesses:
            return .processes(processes(visibleTo: process.owner))
        }
    }

    /// Marks the process blocked while `body` runs.
    func blocked<T>(_ process: ProcessRecord, on what: String, _ body: () async throws -> T) async rethrows -> T {
        process.activity = .blocked(what)
        emit(.stateChanged(process.pid, process.state))
        defer {
            if case .blocked = process.activity { process.activity = .idle }
        }
        return try await body()
    }

}

/// Carries a syscall's result (or error) out of the short-lived process that made it.
private final class ResultBox: @unchecked Sendable {
    var result: SyscallResult?
    var error: (any Error)?
}
