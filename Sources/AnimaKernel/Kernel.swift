import AnimaCore
import AnimaMemory
import AnimaProcessor
import AnimaSecurity
import Foundation

/// The kernel: it keeps the process table, runs agent programs as processes, and is the
/// only path from a process to the processor, tools, memory and other processes.
///
/// Every request a process makes is a `Syscall`: the authoriser checks it first (a denied
/// syscall has no side effect), the kernel carries it out, and the audit trail records it
/// with its outcome. Generations go to the processor, whose slot policy schedules them
/// against every other process's; killing a process frees its slot and KV state at once.
public actor Kernel {
    public struct Configuration: Sendable {
        public var processor: any LanguageModel
        public var tools: [any SystemTool]
        /// Persistent memory for agents that ask for it (`AgentSpec.memory`); nil: none.
        public var memory: MemorySystem?
        public var authorizer: any SyscallAuthorizer
        public var audit: any AuditTrail
        public var clock: any Clock<Duration>
        /// Most processes alive at once.
        public var maxProcesses: Int
        /// Provenance policies and guards; nil runs without them (owner/group rules and the
        /// audit trail still apply).
        public var security: SecurityMonitor?
        /// Seals content (tool arguments, tasks, passages, queries) in audit records; a key
        /// for this process only unless the data directory's is given (`standard`).
        public var auditDigest: AuditDigest = .ephemeral()

        public init(
            processor: any LanguageModel, tools: [any SystemTool] = [], memory: MemorySystem? = nil, authorizer: (any SyscallAuthorizer)? = nil,
            audit: any AuditTrail = MemoryAuditTrail(), clock: any Clock<Duration> = ContinuousClock(), maxProcesses: Int = 1024,
            security: SecurityMonitor? = nil
        ) {
            self.security = security
            self.processor = processor
            self.tools = tools
            self.memory = memory
            self.authorizer = authorizer ?? OwnerGroupAuthorizer(
                toolGroups: Dictionary(tools.map { ($0.definition.name, $0.requiredGroups) }, uniquingKeysWith: { a, _ in a }))
            self.audit = audit
            self.clock = clock
            self.maxProcesses = maxProcesses
        }
    }

    /// A program a process runs; what it returns is its answer.
    public typealias Program = @Sendable (ProcessContext) async throws -> String

    public nonisolated let processor: any LanguageModel
    private let tools: [String: any SystemTool]
    private let memorySystem: MemorySystem?
    private let authorizer: any SyscallAuthorizer
    private let audit: any AuditTrail
    private let auditDigest: AuditDigest
    private let clock: any Clock<Duration>
    private let maxProcesses: Int
    private let security: SecurityMonitor?

    private var table: [PID: ProcessRecord] = [:]
    /// Processes in the table that have not exited (counted, not scanned: spawn is hot).
    private var alive = 0
    /// Exited processes still in the table, oldest first.
    private var exited: [PID] = []
    private let keptExited = 1024
    private var nextPID: UInt32 = 2
    private var auditSequence: UInt64 = 0
    private var messageSequence: UInt64 = 0
    /// The owners' key-value memory; each value keeps the label of what it was made from.
    private var memory: [String: [String: (value: JSONValue, label: ProvenanceLabel)]] = [:]
    /// The readers of messages in flight whose bodies hold restricted data, by sequence.
    private var messageReaders: [UInt64: Set<String>] = [:]
    /// How many messages in flight carry restricted data (for tests).
    var restrictedMessagesInFlight: Int { messageReaders.count }
    private var observers: [UUID: AsyncStream<KernelEvent>.Continuation] = [:]

    public init(_ configuration: Configuration) {
        processor = configuration.processor
        tools = Dictionary(configuration.tools.map { ($0.definition.name, $0) }, uniquingKeysWith: { a, _ in a })
        memorySystem = configuration.memory
        authorizer = configuration.authorizer
        audit = configuration.audit
        auditDigest = configuration.auditDigest
        clock = configuration.clock
        maxProcesses = configuration.maxProcesses
        security = configuration.security
    }

    /// Tool definitions by name, for programs and for `anima tools`.
    public var toolDefinitions: [ToolDefinition] { tools.values.map(\.definition).sorted { $0.name < $1.name } }

    // MARK: Processes

    /// Starts an agent process owned by `owner` running the standard agent loop.
    public func spawn(_ spec: AgentSpec, owner: Principal, parent: PID? = nil) throws(SyscallError) -> PID {
        // A parent's words are the user's only as far as the parent's own context says so.
        let ledger = parent.flatMap { table[$0]?.provenance }
        let loop = AgentLoop(spec: spec)
        let dual = DualLLMLoop(spec: spec)
        let pid = try spawn(
            name: spec.name, owner: owner, parent: parent, groups: spec.groups, priority: spec.priority, quotas: spec.quotas,
            privacy: spec.privacy
        ) { context in
            spec.dualLLM ? try await dual.run(in: context) : try await loop.run(in: context)
        }
        // The program cannot run before this actor method returns, so its ledger is ready first.
        table[pid]?.provenance.record(spec.task, label: ledger?.label(of: spec.task) ?? .user)
        if let prompt = spec.systemPrompt {
            table[pid]?.provenance.record(prompt, label: ledger.map { $0.label(of: prompt) }.map { $0.isTrusted ? ProvenanceLabel(.system) : $0 } ?? ProvenanceLabel(.system))
        }
        return pid
    }

    /// Starts a process running `program`. Its groups are those asked for, at most the
    /// owner's (or the parent's, for a child). `task` is the owner's own words the program
    /// acts on, if any: the security monitor counts values found in it as the user's.
    /// `privacy` is where the process's data may go; a child also carries its parent's.
    public func spawn(
        name: String, owner: Principal, parent: PID? = nil, groups: Set<String>? = nil, priority: Int = 0,
        quotas: Quotas = .unlimited, task: String? = nil, privacy: PrivacyLabel = .public, program: @escaping Program
    ) throws(SyscallError) -> PID {
        guard alive < maxProcesses else {
            throw .failed("the process table is full (\(maxProcesses) processes); wait for some to exit")
        }
        let ceiling = parent.flatMap { table[$0]?.groups } ?? owner.groups
        let granted = (groups ?? ceiling).intersection(owner.isRoot ? (groups ?? ceiling) : ceiling)
        let pid = PID(nextPID)
        nextPID += 1
        let record = ProcessRecord(
            pid: pid, parent: parent, name: name, owner: owner, groups: granted, priority: priority, quotas: quotas)
        // A child's task was written from its parent's context, so it carries that context's privacy.
        record.privacy = privacy.joined(with: parent.flatMap { table[$0]?.privacy } ?? .public)
        table[pid] = record
        alive += 1
        if let task { record.provenance.record(task, label: .user) }
        let context = ProcessContext(pid: pid, kernel: self)
        record.task = Task { [weak self] in
            let status: ExitStatus
            do {
                status = .completed(try await program(context))
            } catch let error as SyscallError {
                if case .quotaExceeded(let which) = error { status = .quotaExceeded(which) } else { status = .failed(error.description) }
            } catch is CancellationError {
                status = .killed
            } catch {
                status = .failed("\(error)")
            }
            await self?.exit(pid, status)
        }
        if let limit = quotas.wallTime {
            record.watchdog = Task { [weak self, clock] in
                guard (try? await Self.sleep(clock, for: limit)) != nil else { return }
                await self?.terminate(pid, status: .quotaExceeded("wall time (\(limit))"))
            }
        }
        emit(.spawned(status(of: record)))
        return pid
    }

    private static func sleep<C: Clock>(_ clock: C, for duration: Duration) async throws where C.Duration == Duration {
        try await clock.sleep(until: clock.now.advanced(by: duration), tolerance: nil)
    }

    /// Makes one syscall on behalf of `owner`, from a short-lived process of theirs, so that
    /// requests arriving from outside (the API, MCP) are authorised and audited like any.
    public func invoke(
        _ call: Syscall, as owner: Principal, name: String = "request", onEvent: GenerationSink? = nil
    ) async throws -> SyscallResult {
        let box = ResultBox()
        let pid = try spawn(name: name, owner: owner) { context in
            do {
                box.result = try await context.kernel.syscall(context.pid, call, sink: onEvent)
            } catch {
                box.error = error
                throw error
            }
            return ""
        }
        // A caller that goes away (a closed connection) takes its request down with it.
        let status = try await withTaskCancellationHandler {
            try await wait(pid)
        } onCancel: {
            Task { try? await self.signal(pid, .terminate) }
        }
        reap(pid)  // its creator has its status: nothing else will ask for it
        switch status {
        case .completed:
            guard let result = box.result else { throw SyscallError.failed("the request ended without a result") }
            return result
        case .failed(let reason): throw box.error ?? SyscallError.failed(reason)
        case .killed: throw CancellationError()
        case .quotaExceeded(let which): throw SyscallError.quotaExceeded(which)
        }
    }

    /// Waits until `pid` exits and returns how.
    public func wait(_ pid: PID) async throws(SyscallError) -> ExitStatus {
        guard let record = table[pid] else { throw .noSuchProcess(pid) }
        if let status = record.exitStatus { return status }
        return await withCheckedContinuation { record.exitWaiters.append($0) }
    }

    /// Sends a signal as `sender` (the operator or another process's owner).
    public func signal(_ pid: PID, _ signal: Signal, from sender: Principal = .root) async throws(SyscallError) {
        guard let target = table[pid] else { throw .noSuchProcess(pid) }
        let creds = ProcessCredentials(pid: .kernel, owner: sender, groups: sender.groups, ancestors: [])
        if let reason = authorizer.deny(.signal(pid, signal), by: creds, target: credentials(target)) {
            recordAudit(pid: .kernel, owner: sender.name, .signal(pid, signal), .denied(reason))
            throw .permissionDenied(syscall: "signal", reason: reason)
        }
        try await deliver(signal, to: target)
        recordAudit(pid: .kernel, owner: sender.name, .signal(pid, signal), .completed)
    }

    /// The process table as `principal` may see it: root sees all, others their own.
    public func processes(visibleTo principal: Principal = .root) -> [ProcessStatus] {
        table.values.filter { principal.isRoot || $0.owner.name == principal.name }.map(status(of:)).sorted { $0.pid < $1.pid }
    }

    public func status(_ pid: PID) -> ProcessStatus? { table[pid].map(status(of:)) }

    /// Live events: spawns, state changes, text, tool calls, exits.
    public func events() -> AsyncStream<KernelEvent> {
        let (stream, continuation) = AsyncStream<KernelEvent>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let id = UUID()
        observers[id] = continuation
        continuation.onTermination = { [weak self] _ in Task { await self?.removeObserver(id) } }
        return stream
    }

    private func removeObserver(_ id: UUID) { observers[id] = nil }

    private func emit(_ event: KernelEvent) {
        for observer in observers.values { observer.yield(event) }
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
            throw SyscallError.permissionDenied(syscall: call.name, reason: "the audit trail cannot be written (\(failure)); nothing runs unrecorded")
        }
        var call = call
        let target: ProcessRecord? = switch call {
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
        if let security, case .callTool(let toolCall) = call {
            call = .callTool(try await screen(toolCall, for: process, security))
        }
        if let security, case .send(_, let body) = call, let target {
            // Data only some principals may read does not go to another principal's process.
            let decision = security.engine.evaluateDisclosure(
                of: body.text, to: target.owner.name, context: process.provenance)
            if case .deny(let reason) = decision.verdict {
                recordAudit(pid: pid, owner: process.owner.name, call, .denied("policy: \(reason)"))
                throw SyscallError.permissionDenied(syscall: call.name, reason: "policy: \(reason)")
            }
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

    private func perform(_ call: Syscall, for process: ProcessRecord, sink: GenerationSink?) async throws -> SyscallResult {
        switch call {
        case .generate(let request):
            return .generated(try await generate(request, for: process, sink: sink))
        case .callTool(let toolCall):
            return .toolOutput(try await callTool(toolCall, for: process))
        case .spawn(let spec):
            var spec = spec
            spec.groups = spec.groups ?? process.groups
            return .spawned(try spawn(spec, owner: process.owner, parent: process.pid))
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
            if security != nil, let readers = process.provenance.label(of: body.text).readers {
                messageReaders[messageSequence] = readers  // the receiver's ledger keeps them
            }
            target.mailbox.deliver(Message(from: process.pid, body: body, sequence: messageSequence, privacy: process.privacy))
            return .done
        case .receive(let timeout):
            let message = await blocked(process, on: "receive") { await self.receive(for: process, timeout: timeout) }
            if let message { process.privacy = process.privacy.joined(with: message.privacy) }
            if security != nil, let message {
                let readers = messageReaders.removeValue(forKey: message.sequence)
                process.provenance.record(
                    message.body.text, label: ProvenanceLabel(.agent(message.from.rawValue), readers: readers))
            }
            return .message(message)
        case .memory(.attach(let agent, let systemPrefix)):
            return .pager(try await attachMemory(agent, systemPrefix: systemPrefix, for: process))
        case .memory(.forget(let agent, let recallIDs, let archivalIDs)):
            return .erased(try await persistentMemory().forget(
                user: process.owner.name, agent: agent, recallIDs: recallIDs, archivalIDs: archivalIDs))
        case .memory(.search(let agent, let text, let limit)):
            takeIn(ProvenanceLabel(.memory), process)
            let found = try await persistentMemory().search(user: process.owner.name, agent: agent, text: text, limit: limit)
            return .records(found.records, damaged: found.damaged)
        case .memory(.insert(let agent, let text, let tags)):
            return .inserted(try await persistentMemory().insert(user: process.owner.name, agent: agent, text: text, tags: tags))
        case .memory(let operation):
            return perform(operation, for: process)
        case .listProcesses:
            return .processes(processes(visibleTo: process.owner))
        }
    }

    private func generate(_ request: GenerationRequest, for process: ProcessRecord, sink: GenerationSink?) async throws -> GenerationResult {
        var request = request
        if let limit = process.quotas.tokens {
            let left = limit - process.usage.generatedTokens
            guard left > 0 else {
                terminate(process.pid, status: .quotaExceeded("tokens (\(limit))"))
                throw SyscallError.quotaExceeded("tokens (\(limit))")
            }
            request.sampling.maxTokens = min(request.sampling.maxTokens ?? left, left)
        }
        if security != nil, process.pager != nil {
            // Pages the pager brought in from storage for this turn are memory, like a search's results.
            for message in request.messages where message.role == .system && message.content.hasPrefix(ContextWindow.pagesHeader) {
                process.provenance.record(message.content, label: ProvenanceLabel(.memory, readers: [process.owner.name]))
            }
        }
        let events: AsyncThrowingStream<GenerationEvent, any Error>
        var decision: RoutingDecision?
        if let router = processor as? ProcessorRouter {
            let routed: ProcessorRouter.RoutedGeneration
            do {
                routed = try router.start(request)
            } catch {
                recordEvent(process, "route", "\(request.privacy): \(error)", .denied(error.description))
                throw error
            }
            decision = routed.decision
            recordEvent(process, "route", RoutingEvent.decided(routed.decision).description, .completed)
            events = routed.events
        } else if let shared = processor as? any TimeSharedModel {
            let control = shared.start(request, priority: process.priority)
            process.generation = control
            events = control.events
        } else {
            events = processor.generate(request)
        }
        process.activity = .generating
        emit(.stateChanged(process.pid, status(of: process).state))
        defer {
            process.generation = nil
            process.liveTokens = 0
            if process.activity == .generating { process.activity = .idle }
        }
        var result = GenerationResult(text: "", toolCalls: [], usage: Usage(promptTokens: 0, completionTokens: 0), finishReason: .stop)
        // With guards, text leaves only after the output guard has seen it (see StreamGuard);
        // with no one listening, the whole-text guard below is enough.
        var streamGuard = sink != nil || !observers.isEmpty ? security?.guards.map { StreamGuard($0) } : nil
        var stopped: String?
        func release(_ text: String) {
            guard !text.isEmpty else { return }
            sink?(.text(text))
            emit(.text(process.pid, text))
        }
        func flush(_ outcome: StreamGuard.Release?) {
            switch outcome {
            case .text(let text): release(text)
            case .blocked(let reason):
                stopped = reason
                recordEvent(process, "guard.stream", reason, .denied("guard"))
                emit(.text(process.pid, "\n[\(reason)]"))
            case nil: break
            }
        }
        do {
            for try await event in events {
                if case .text(let t) = event {
                    result.text += t
                    process.liveTokens += 1
                    if streamGuard == nil { release(t) } else if stopped == nil { flush(streamGuard?.feed(t)) }
                    continue
                }
                if stopped == nil { flush(streamGuard?.finish()) }
                sink?(event)
                switch event {
                case .text: break
                case .toolCall(let c): result.toolCalls.append(c)
                case .usage(let u): result.usage = u
                case .finished(let r): result.finishReason = r
                }
            }
        } catch {
            if let decision { recordRouting(decision, for: process) }
            throw error
        }
        if let decision { recordRouting(decision, for: process) }
        if stopped == nil { flush(streamGuard?.finish()) }
        if let security { await guardOutput(&result, for: process, security) }
        if let stopped, sink != nil {
            // A streaming client has part of the answer: end its stream with the reason.
            throw SyscallError.permissionDenied(syscall: "generate", reason: stopped)
        }
        process.usage.promptTokens += result.usage.promptTokens
        process.usage.generatedTokens += result.usage.completionTokens
        if let limit = process.quotas.tokens, process.usage.generatedTokens >= limit, result.finishReason == .length {
            // The answer was cut by the quota: the process is out of tokens.
            terminate(process.pid, status: .quotaExceeded("tokens (\(limit))"))
            throw SyscallError.quotaExceeded("tokens (\(limit))")
        }
        return result
    }

    private func callTool(_ call: ToolCall, for process: ProcessRecord) async throws -> ToolOutput {
        if let pager = process.pager, MemoryFunctions.names.contains(call.name) {
            return try await callMemoryFunction(call, on: pager, for: process)
        }
        guard let tool = tools[call.name] else { throw SyscallError.unknownTool(call.name) }
        if let limit = process.quotas.toolCalls, process.usage.toolCalls >= limit {
            terminate(process.pid, status: .quotaExceeded("tool calls (\(limit))"))
            throw SyscallError.quotaExceeded("tool calls (\(limit))")
        }
        let violations = tool.definition.parameters.violations(of: call.arguments)
        guard violations.isEmpty else {
            throw SyscallError.invalidArguments(violations.map(\.description).joined(separator: "; "))
        }
        process.usage.toolCalls += 1
        emit(.toolCall(process.pid, call))
        let creds = credentials(process)
        var output = try await blocked(process, on: "tool \(call.name)") { try await tool.run(call.arguments, for: creds) }
        // A file or memory a process reads is its owner's: only they may read it (see PolicyEngine).
        let owned = tool.outputSource == .file || tool.outputSource == .memory
        let label = ProvenanceLabel(sources: [tool.outputSource, .tool(call.name)], readers: owned ? [process.owner.name] : nil)
        output.label = label
        takeIn(label, process)
        if let security {
            output.text = await guardInput(output.text, from: call.name, for: process, security)
            process.provenance.record(output.text, label: label)
        }
        emit(.toolResult(process.pid, output))
        return output
    }

    // MARK: Security

    /// Checks a tool call against the policy and the output guard before it runs; throws
    /// (and records) a denial, and returns the call as it may run (redacted if so ruled).
    private func screen(_ call: ToolCall, for process: ProcessRecord, _ security: SecurityMonitor) async throws -> ToolCall {
        // Memory functions are checked like tools: an edit of memory is a write that
        // outlives the process (core memory sits in every later prompt).
        let declared: ToolEffect
        if process.pager != nil, let effect = MemoryFunctions.effect(of: call.name) {
            declared = effect
        } else if let tool = tools[call.name] {
            declared = tool.effect
        } else {
            return call  // perform reports the unknown tool
        }
        let decision = security.engine.evaluate(tool: call.name, effect: declared, arguments: call.arguments, context: process.provenance)
        guard decision.effect != .readOnly else { return call }
        var call = call
        var questions: [String] = []
        switch decision.verdict {
        case .allow: break
        case .deny(let reason): throw deny(call, process, "policy: \(reason)")
        case .ask(let reason): questions.append(reason)
        }
        if let guards = security.guards {
            let verdict = await guards.screen(arguments: call.arguments, .output)
            if verdict.isWorthRecording {
                recordEvent(process, "guard.output", "\(call.name): \(verdict)", verdict.action == .block ? .denied("guard") : .completed)
            }
            switch verdict.action {
            case .allow: break
            case .redact: call.arguments = Self.redact(call.arguments, guards)
            case .ask: questions.append("the output guard found \(verdict.categories.map(\.rawValue).joined(separator: ", ")) in the arguments")
            case .block: throw deny(call, process, "the output guard blocks \(verdict.categories.map(\.rawValue).joined(separator: ", ")) in the arguments")
            }
        }
        if !questions.isEmpty {
            let question = questions.joined(separator: "; ")
            guard let confirm = security.confirm else {
                throw deny(call, process, "\(question); this needs the user's confirmation and no one can confirm here")
            }
            let yes = await confirm(Confirmation(pid: process.pid, owner: process.owner.name, call: call, reason: question))
            guard process.isAlive else { throw SyscallError.processExited(process.pid) }
            guard yes else { throw deny(call, process, "\(question); the user declined") }
            recordEvent(process, "policy.confirmed", "\(call.name): \(question)", .completed)
        }
        return call
    }

    private func deny(_ call: ToolCall, _ process: ProcessRecord, _ reason: String) -> SyscallError {
        recordAudit(pid: process.pid, owner: process.owner.name, .callTool(call), .denied(reason))
        return .permissionDenied(syscall: "call_tool", reason: reason)
    }

    /// Each string in `value` with what the output guard redacts replaced.
    private static func redact(_ value: JSONValue, _ guards: GuardPipeline) -> JSONValue {
        switch value {
        case .string(let s): .string(guards.evaluate(s, .output).text)
        case .array(let items): .array(items.map { redact($0, guards) })
        case .object(let object): .object(JSONObject(object.map { ($0.key, redact($0.value, guards)) }))
        default: value
        }
    }

    /// Runs the input guard over untrusted text about to reach the model; returns the text
    /// the model may see.
    private func guardInput(_ text: String, from source: String, for process: ProcessRecord, _ security: SecurityMonitor) async -> String {
        guard let guards = security.guards else { return text }
        let verdict = await guards.screen(text, .input)
        guard verdict.isWorthRecording else { return text }
        recordEvent(process, "guard.input", "\(source): \(verdict)", verdict.action == .block ? .denied("guard") : .completed)
        switch verdict.action {
        case .allow: return text
        case .redact: return verdict.text
        case .ask:
            let call = ToolCall(id: "guard", name: source, arguments: .string(String(text.prefix(200))))
            if let confirm = security.confirm,
                await confirm(Confirmation(pid: process.pid, owner: process.owner.name, call: call, reason: "\(verdict)")) {
                return verdict.text
            }
            return "[withheld by the input guard: \(verdict.categories.map(\.rawValue).joined(separator: ", "))]"
        case .block:
            return "[withheld by the input guard: \(verdict.categories.map(\.rawValue).joined(separator: ", "))]"
        }
    }

    /// Runs the output guard over a generation's text.
    private func guardOutput(_ result: inout GenerationResult, for process: ProcessRecord, _ security: SecurityMonitor) async {
        guard let guards = security.guards, !result.text.isEmpty else { return }
        let verdict = await guards.screen(result.text, .output)
        guard verdict.isWorthRecording else { return }
        recordEvent(process, "guard.output", "answer: \(verdict)", verdict.action == .block ? .denied("guard") : .completed)
        // An answer is text for the user, not an action: "ask" (meant for tool calls) only records.
        switch verdict.action {
        case .allow, .ask: break
        case .redact: result.text = verdict.text
        case .block: result.text = "[withheld by the output guard: \(verdict.categories.map(\.rawValue).joined(separator: ", "))]"
        }
    }

    /// Raises the process's privacy by the rule of `PrivacyLabel.init(provenance:)` for data
    /// with `label` that entered its context.
    private func takeIn(_ label: ProvenanceLabel, _ process: ProcessRecord) {
        process.privacy = process.privacy.joined(with: PrivacyLabel(provenance: label))
    }

    /// Records what the router did with `decision` after choosing: failovers, and who
    /// served it or how it failed. Routing events hold no prompt text and no credential.
    private func recordRouting(_ decision: RoutingDecision, for process: ProcessRecord) {
        guard let router = processor as? ProcessorRouter else { return }
        for event in router.log.events(of: decision.id) {
            switch event {
            case .decided, .rewarded: continue
            case .failedOver(_, _, _, let error): recordEvent(process, "route.failover", event.description, .failed(error))
            case .completed: recordEvent(process, "route.served", event.description, .completed)
            case .failed(_, let error): recordEvent(process, "route.failed", event.description, .failed(error))
            }
        }
    }

    /// Records a security decision that is not a syscall's own end.
    private func recordEvent(_ process: ProcessRecord, _ action: String, _ summary: String, _ outcome: AuditRecord.Outcome) {
        auditSequence += 1
        audit.append(AuditRecord(
            sequence: auditSequence, time: Date(), pid: process.pid, owner: process.owner.name, syscall: action,
            summary: summary.count > 300 ? String(summary.prefix(297)) + "..." : summary, outcome: outcome))
    }

    /// A memory function the model called: it runs on the process's own pager, so it can
    /// only reach the memory of this agent of this owner.
    private func callMemoryFunction(_ call: ToolCall, on pager: Pager, for process: ProcessRecord) async throws -> ToolOutput {
        if let limit = process.quotas.toolCalls, process.usage.toolCalls >= limit {
            terminate(process.pid, status: .quotaExceeded("tool calls (\(limit))"))
            throw SyscallError.quotaExceeded("tool calls (\(limit))")
        }
        process.usage.toolCalls += 1
        emit(.toolCall(process.pid, call))
        var call = call
        if security != nil, call.name == "archival_insert", let content = call.arguments["content"]?.stringValue {
            // A passage keeps the untrusted sources of what it was made from, so that what
            // is read back in a later session is still known to come from there.
            call.arguments = MemoryProvenance.tagging(call.arguments, with: process.provenance.label(of: content))
        }
        let result = await blocked(process, on: "memory \(call.name)") { await pager.functions.execute(call) }
        // What memory gives back was written earlier, perhaps from untrusted text: it is labelled
        // memory, plus the sources archival passages recorded when they were saved.
        var label = ProvenanceLabel(.memory, readers: [process.owner.name])
        if call.name == "archival_search" { label = label.joined(with: MemoryProvenance.label(ofSearchResult: result.json)) }
        let output = ToolOutput(text: result.text, isError: result.isError, label: label)
        takeIn(label, process)
        if security != nil { process.provenance.record(output.text, label: label) }
        emit(.toolResult(process.pid, output))
        return output
    }

    private func persistentMemory() throws(SyscallError) -> MemorySystem {
        guard let memorySystem else {
            throw .failed("this kernel runs without persistent memory (start it with a data directory, e.g. anima serve)")
        }
        return memorySystem
    }

    /// Opens the persistent memory of agent `agent` of the process's owner for the
    /// process, or returns nil when the kernel has no memory system.
    private func attachMemory(_ agent: String, systemPrefix: String, for process: ProcessRecord) async throws -> Pager? {
        guard let memorySystem else { return nil }
        if let pager = process.pager { return pager }
        // Memory is private: behind a router, the pager's own calls (counting, summaries) stay local too.
        let model: any LanguageModel = processor is ProcessorRouter ? PrivateProcessor(base: processor) : processor
        let pager = try await memorySystem.pager(
            user: process.owner.name, agent: agent, model: model, systemPrefix: systemPrefix)
        process.pager = pager
        // From now on the context holds the agent's core memory and whatever is paged in.
        takeIn(ProvenanceLabel(.memory), process)
        if security != nil {
            // What an earlier session left in the window (core memory, the summary, its
            // messages) may have come from anywhere: it is memory, and untrusted.
            let window = await pager.window
            for text in window.blocks.map(\.value) + [window.summary] + window.messages.map(\.message.content) {
                process.provenance.record(text, label: ProvenanceLabel(.memory, readers: [process.owner.name]))
            }
        }
        return pager
    }

    private func receive(for process: ProcessRecord, timeout: Duration?) async -> Message? {
        if let message = process.mailbox.take() { return message }
        let pid = process.pid
        let timer = timeout.map { limit in
            Task { [weak self, clock] in
                guard (try? await Self.sleep(clock, for: limit)) != nil else { return }
                await self?.wakeReceiver(pid)
            }
        }
        defer { timer?.cancel() }
        return await withCheckedContinuation { process.mailbox.park($0) }
    }

    private func wakeReceiver(_ pid: PID) { table[pid]?.mailbox.wake() }

    private func perform(_ operation: MemoryOperation, for process: ProcessRecord) -> SyscallResult {
        let owner = process.owner.name
        switch operation {
        case .read(let key):
            guard let cell = memory[owner]?[key] else { return .value(nil) }
            takeIn(ProvenanceLabel(.memory), process)
            if security != nil {
                // What the user stored stays theirs; anything else is labelled memory as well.
                let label = cell.label.isTrusted ? cell.label : cell.label.joined(with: ProvenanceLabel(.memory, readers: [owner]))
                process.provenance.record(cell.value.text, label: label)
            }
            return .value(cell.value)
        case .write(let key, let value):
            memory[owner, default: [:]][key] = (value, process.provenance.label(of: value.text))
            return .done
        case .erase(let key):
            memory[owner]?[key] = nil
            return .done
        case .list(let prefix):
            return .keys((memory[owner] ?? [:]).keys.filter { $0.hasPrefix(prefix) }.sorted())
        case .attach, .forget, .search, .insert:
            preconditionFailure("handled by the syscall dispatch")
        }
    }

    /// Marks the process blocked while `body` runs.
    private func blocked<T>(_ process: ProcessRecord, on what: String, _ body: () async throws -> T) async rethrows -> T {
        process.activity = .blocked(what)
        emit(.stateChanged(process.pid, status(of: process).state))
        defer {
            if case .blocked = process.activity { process.activity = .idle }
        }
        return try await body()
    }

    // MARK: Signals and exit

    private func deliver(_ signal: Signal, to process: ProcessRecord) async throws(SyscallError) {
        guard process.isAlive else { throw .processExited(process.pid) }
        switch signal {
        case .terminate:
            let generation = process.generation
            terminate(process.pid, status: .killed)
            // Kill returns once the slot and KV state are free.
            await generation?.cancel()
        case .suspend:
            guard !process.suspended else { return }
            process.suspended = true
            if let generation = process.generation { _ = try? await generation.suspend() }
            emit(.stateChanged(process.pid, .suspended))
        case .resume:
            guard process.suspended else { return }
            process.suspended = false
            if let generation = process.generation {
                // The slot comes back when the policy grants one; the syscall keeps waiting meanwhile.
                Task { _ = try? await generation.resume() }
            }
            process.releaseSuspendedWaiters()
            emit(.stateChanged(process.pid, status(of: process).state))
        }
    }

    /// Ends a process now: its program is cancelled and its slot released.
    private func terminate(_ pid: PID, status: ExitStatus) {
        guard let process = table[pid], process.isAlive else { return }
        process.exitStatus = status
        process.task?.cancel()
        process.watchdog?.cancel()
        process.mailbox.wake()
        process.releaseSuspendedWaiters()
        let generation = process.generation
        process.generation = nil
        if let generation { Task { await generation.cancel() } }
        finishExit(process)
    }

    /// Called when a program returns.
    private func exit(_ pid: PID, _ status: ExitStatus) {
        guard let process = table[pid], process.isAlive else { return }
        process.exitStatus = status
        process.watchdog?.cancel()
        process.mailbox.wake()
        finishExit(process)
    }

    private func finishExit(_ process: ProcessRecord) {
        alive -= 1
        // Messages it never received: their readers are no longer needed.
        for message in process.mailbox.drain() { messageReaders.removeValue(forKey: message.sequence) }
        let status = process.exitStatus!
        for waiter in process.exitWaiters { waiter.resume(returning: status) }
        process.exitWaiters.removeAll()
        emit(.exited(process.pid, status))
        // Exited processes stay listed (with their status) until `keptExited` newer ones
        // have exited, so that a long-running kernel's table does not grow without bound.
        exited.append(process.pid)
        if exited.count > keptExited {
            let oldest = exited.removeFirst()
            if table[oldest]?.isAlive == false { table[oldest] = nil }
        }
    }

    /// Removes an exited process from the table.
    private func reap(_ pid: PID) {
        if table[pid]?.isAlive == false { table[pid] = nil }
    }

    // MARK: Records

    private func credentials(_ process: ProcessRecord) -> ProcessCredentials {
        var ancestors: [PID] = []
        var cursor = process.parent
        while let pid = cursor, ancestors.count < 64 {
            ancestors.append(pid)
            cursor = table[pid]?.parent
        }
        return ProcessCredentials(pid: process.pid, owner: process.owner, groups: process.groups, ancestors: ancestors)
    }

    private func status(of process: ProcessRecord) -> ProcessStatus {
        var usage = process.usage
        usage.generatedTokens += process.liveTokens
        return ProcessStatus(
            pid: process.pid, parent: process.parent, name: process.name, owner: process.owner.name,
            groups: process.groups.sorted(), state: process.state, priority: process.priority, usage: usage,
            quotas: process.quotas, slot: process.generation?.slot, started: process.started)
    }

    private func recordAudit(pid: PID, owner: String, _ call: Syscall, _ outcome: AuditRecord.Outcome) {
        auditSequence += 1
        audit.append(AuditRecord(
            sequence: auditSequence, time: Date(), pid: pid, owner: owner, syscall: call.name, summary: call.summary(sealing: auditDigest.digest),
            outcome: outcome))
    }
}

/// Carries a syscall's result (or error) out of the short-lived process that made it.
private final class ResultBox: @unchecked Sendable {
    var result: SyscallResult?
    var error: (any Error)?
}

/// What the kernel tells observers (the CLI's live view, the server's event streams).
public enum KernelEvent: Sendable {
    case spawned(ProcessStatus)
    case stateChanged(PID, ProcessState)
    case text(PID, String)
    case toolCall(PID, ToolCall)
    case toolResult(PID, ToolOutput)
    case exited(PID, ExitStatus)
}

/// A process's handle on the kernel: the only thing its program can act through.
public struct ProcessContext: Sendable {
    public let pid: PID
    let kernel: Kernel

    public func syscall(_ call: Syscall) async throws -> SyscallResult {
        try await kernel.syscall(pid, call)
    }

    /// Generates; `onEvent` sees every event as it arrives (for streaming it on).
    public func generate(_ request: GenerationRequest, onEvent: Kernel.GenerationSink? = nil) async throws -> GenerationResult {
        guard case .generated(let result) = try await kernel.syscall(pid, .generate(request), sink: onEvent) else {
            throw SyscallError.failed("unexpected result")
        }
        return result
    }

    public func callTool(_ call: ToolCall) async throws -> ToolOutput {
        guard case .toolOutput(let output) = try await syscall(.callTool(call)) else { throw SyscallError.failed("unexpected result") }
        return output
    }

    public func send(_ body: JSONValue, to pid: PID) async throws {
        _ = try await syscall(.send(to: pid, body))
    }

    public func receive(timeout: Duration? = nil) async throws -> Message? {
        guard case .message(let message) = try await syscall(.receive(timeout: timeout)) else { throw SyscallError.failed("unexpected result") }
        return message
    }

    public func spawn(_ spec: AgentSpec) async throws -> PID {
        guard case .spawned(let pid) = try await syscall(.spawn(spec)) else { throw SyscallError.failed("unexpected result") }
        return pid
    }

    public func wait(_ pid: PID) async throws -> ExitStatus {
        guard case .exited(let status) = try await syscall(.wait(pid)) else { throw SyscallError.failed("unexpected result") }
        return status
    }

    /// Opens the persistent memory of the owner's agent `agent`; nil when the kernel runs
    /// without a memory system.
    public func attachMemory(agent: String, systemPrefix: String) async throws -> Pager? {
        guard case .pager(let pager) = try await syscall(.memory(.attach(agent: agent, systemPrefix: systemPrefix))) else {
            throw SyscallError.failed("unexpected result")
        }
        return pager
    }

    /// Definitions of the tools this process may see, by name.
    public func tools(named names: [String]) async -> [ToolDefinition] {
        await kernel.toolDefinitions.filter { names.contains($0.name) }
    }
}
