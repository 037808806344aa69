import AnimaCore
import AnimaProcessor
import Synchronization

/// A deterministic time-shared processor for tests of the kernel: `slotCount` slots, a
/// `SlotScheduler`, and one token per running generation per step, like `LlamaEngine`'s
/// decode loop, with answers from a script instead of a model.
///
/// Steps happen when the test calls `step()`, so the order of service is exactly
/// reproducible; or, after `startStepping()`, whenever some generation runs. Every token
/// is logged with the step that produced it (`serviceLog`).
public final class ScriptedProcessor: TimeSharedModel {
    public let info: ModelInfo
    public let slotCount: Int
    private let scheduler: any SlotScheduler
    private let responder: @Sendable (GenerationRequest) -> ScriptedModel.Reply
    private let state: Mutex<State>
    private let nextID = Atomic<UInt64>(1)
    private let wakeUp: AsyncStream<Void>.Continuation
    private let wakeUps: AsyncStream<Void>

    /// One token of service: which generation ran in which step.
    public struct Service: Sendable, Hashable {
        public var step: UInt64
        public var generation: UInt64
    }

    private struct Pending {
        var tokens: [GenerationEvent]
        var emitted = 0
        var promptTokens: Int
        var finish: FinishReason
        var continuation: AsyncThrowingStream<GenerationEvent, any Error>.Continuation
        var resumeReply: CheckedContinuation<Int, any Error>?
        /// Whether the tokens are handed over at the end (`GenerationRequest.wholeAnswer`).
        var wholeAnswer: Bool
    }

    private struct State {
        var table: SlotTable
        var generations: [UInt64: Pending] = [:]
        var log: [Service] = []
        var stepping = false
    }

    /// Whether every token is logged (`serviceLog`); a long-running daemon on this model
    /// (`anima-bench serve --scripted`) keeps no log, which would grow with every token.
    private let logsService: Bool

    public init(
        slots: Int, scheduler: any SlotScheduler, name: String = "scripted", contextLength: Int = 4096, logsService: Bool = true,
        responder: @escaping @Sendable (GenerationRequest) -> ScriptedModel.Reply
    ) {
        precondition(slots >= 1)
        self.logsService = logsService
        info = ModelInfo(name: name, contextLength: contextLength)
        slotCount = slots
        self.scheduler = scheduler
        self.responder = responder
        state = Mutex(State(table: SlotTable(slots: slots)))
        (wakeUps, wakeUp) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    deinit { wakeUp.finish() }

    /// Every token produced so far, in order (empty unless `logsService`).
    public var serviceLog: [Service] { state.withLock { $0.log } }

    /// The slot a generation holds now, if any.
    public func slot(of id: UInt64) -> Int? { state.withLock { $0.table.slot(of: id) } }

    /// Generations holding a slot, and generations waiting for one.
    public var occupancy: (running: Int, waiting: Int) {
        state.withLock { ($0.table.runningIDs.count, $0.table.readyCount) }
    }

    public func countTokens(text: String) async throws -> Int { ScriptedModel.wordCount(text) }

    public func countTokens(_ request: GenerationRequest) async throws -> Int { Self.promptTokens(request) }

    static func promptTokens(_ request: GenerationRequest) -> Int {
        if let raw = request.rawPrompt { return ScriptedModel.wordCount(raw) }
        return request.messages.reduce(0) { $0 + ScriptedModel.wordCount($1.content) + 1 }
    }

    public func generate(_ request: GenerationRequest) -> AsyncThrowingStream<GenerationEvent, any Error> {
        start(request, priority: 0).events
    }

    public func start(_ request: GenerationRequest, priority: Int) -> any GenerationControl {
        let (stream, continuation) = AsyncThrowingStream<GenerationEvent, any Error>.makeStream()
        let prompt = Self.promptTokens(request)
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let handle = Handle(id: id, events: stream, processor: self)
        if let problem = request.sampling.problem {
            continuation.finish(throwing: ProcessorError.invalidRequest(problem))
            return handle
        }
        guard prompt < info.contextLength else {
            continuation.finish(throwing: ProcessorError.promptTooLong(tokens: prompt, limit: info.contextLength))
            return handle
        }
        var tokens: [GenerationEvent] = []
        var finish = FinishReason.stop
        switch responder(request) {
        case .failure(let message):
            continuation.finish(throwing: ProcessorError.engineFailure(message))
            return handle
        case .toolCalls(let calls):
            tokens = calls.map { .toolCall($0) }
            finish = .toolCalls
        case .cutToolCalls(let calls):
            tokens = calls.map { .toolCall($0) }
            finish = .length
        case .text(let text):
            let limit = request.sampling.maxTokens ?? .max
            let words = ScriptedModel.tokens(text)
            tokens = words.prefix(limit).map { .text($0) }
            if words.count > limit { finish = .length }
        }
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.remove(id) }
        }
        state.withLock { s in
            s.generations[id] = Pending(
                tokens: tokens, promptTokens: prompt, finish: finish, continuation: continuation, wholeAnswer: request.wholeAnswer)
            s.table.add(id, priority: priority, wholeAnswer: request.wholeAnswer)
        }
        wakeUp.yield()
        return handle
    }

    /// Runs one step: the scheduler picks who holds the slots, then each running generation
    /// produces one token. Returns the generations that ran.
    @discardableResult
    public func step() -> [UInt64] {
        var finished: [(AsyncThrowingStream<GenerationEvent, any Error>.Continuation, [GenerationEvent])] = []
        var emitted: [(AsyncThrowingStream<GenerationEvent, any Error>.Continuation, GenerationEvent)] = []
        var resumed: [(CheckedContinuation<Int, any Error>, Int)] = []
        let ran = state.withLock { s -> [UInt64] in
            let plan = s.table.plan(scheduler)
            s.table.apply(plan)
            for (id, slot) in plan.admit {
                if let reply = s.generations[id]?.resumeReply {
                    resumed.append((reply, slot))
                    s.generations[id]?.resumeReply = nil
                }
            }
            let running = s.table.runningIDs
            for id in running {
                guard var g = s.generations[id] else { continue }
                if logsService { s.log.append(Service(step: s.table.step, generation: id)) }
                s.table.recordToken(id)
                if g.emitted < g.tokens.count {
                    if !g.wholeAnswer { emitted.append((g.continuation, g.tokens[g.emitted])) }
                    g.emitted += 1
                }
                if g.emitted == g.tokens.count {
                    let usage = Usage(promptTokens: g.promptTokens, completionTokens: max(g.emitted, 1))
                    finished.append((g.continuation, (g.wholeAnswer ? g.tokens : []) + [.usage(usage), .finished(g.finish)]))
                    s.generations[id] = nil
                    s.table.remove(id)
                } else {
                    s.generations[id] = g
                }
            }
            s.table.finishStep()
            return running
        }
        for (reply, slot) in resumed { reply.resume(returning: slot) }
        for (continuation, event) in emitted { continuation.yield(event) }
        for (continuation, events) in finished {
            for event in events { continuation.yield(event) }
            continuation.finish()
        }
        return ran
    }

    /// Steps whenever some generation wants to run, until the processor is released.
    /// `onStep` runs after each step (tests advance a virtual clock there).
    public func startStepping(onStep: (@Sendable () async -> Void)? = nil) {
        let already = state.withLock { s in
            defer { s.stepping = true }
            return s.stepping
        }
        guard !already else { return }
        Task { [weak self, wakeUps] in
            for await _ in wakeUps {
                while let self, self.hasWork {
                    self.step()
                    await onStep?()
                    await Task.yield()
                }
            }
        }
    }

    private var hasWork: Bool {
        state.withLock { $0.table.hasWork }
    }

    fileprivate func remove(_ id: UInt64) {
        let pending = state.withLock { s -> Pending? in
            s.table.remove(id)
            return s.generations.removeValue(forKey: id)
        }
        pending?.resumeReply?.resume(throwing: CancellationError())
        pending?.continuation.finish(throwing: CancellationError())
    }

    fileprivate func suspend(_ id: UInt64) throws -> SuspendedState {
        try state.withLock { s in
            guard s.generations[id] != nil, s.table.entries[id]?.state != .suspended else {
                throw ProcessorError.invalidRequest("that generation is not running")
            }
            let slot = s.table.slot(of: id)
            s.table.suspend(id)
            let g = s.generations[id]!
            return SuspendedState(previousSlot: slot, kvBytes: 0, tokens: g.promptTokens + g.emitted)
        }
    }

    fileprivate func resume(_ id: UInt64, reply: CheckedContinuation<Int, any Error>) {
        let accepted = state.withLock { s -> Bool in
            guard s.generations[id] != nil, s.table.entries[id]?.state == .suspended else { return false }
            s.generations[id]?.resumeReply = reply
            s.table.resume(id)
            return true
        }
        if accepted {
            wakeUp.yield()
        } else {
            reply.resume(throwing: ProcessorError.invalidRequest("that generation is not suspended"))
        }
    }

    fileprivate func setPriority(_ id: UInt64, _ priority: Int) {
        state.withLock { $0.table.setPriority(id, priority) }
    }

    private final class Handle: GenerationControl {
        let id: UInt64
        let events: AsyncThrowingStream<GenerationEvent, any Error>
        private let processor: ScriptedProcessor

        init(id: UInt64, events: AsyncThrowingStream<GenerationEvent, any Error>, processor: ScriptedProcessor) {
            self.id = id
            self.events = events
            self.processor = processor
        }

        var slot: Int? { processor.slot(of: id) }

        func suspend() async throws -> SuspendedState { try processor.suspend(id) }

        func resume() async throws -> Int {
            try await withCheckedThrowingContinuation { processor.resume(id, reply: $0) }
        }

        func setPriority(_ priority: Int) { processor.setPriority(id, priority) }

        func cancel() async { processor.remove(id) }
    }
}
