import AnimaCore
import CLlama
import Foundation
import Synchronization

/// The engine's continuous batch: one llama.cpp context, `slots` sequences, and a
/// dedicated thread that decodes them together.
///
/// Every step carries the next token of each running sequence plus chunks of prompts
/// still being read (prefill), up to the batch size. New requests join between steps;
/// finished, cancelled or suspended ones leave between steps, so a cancel takes effect
/// within one step. All llama.cpp calls on the context happen on this thread.
final class DecodeLoop: @unchecked Sendable {
    let model: LlamaModel
    let slots: Int
    let contextLength: Int
    let batchSize: Int

    private let context: OpaquePointer
    private let memory: OpaquePointer
    private var batch: llama_batch
    private let batchCapacity: Int

    // Shared with callers; guarded by `condition`.
    private let condition = NSCondition()
    private var inbox: [Job] = []
    private var commands: [Command] = []
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    // Decode-thread state.
    private var occupants: [Job?]
    private var waiting: [Job] = []
    private var jobs: [UInt64: Job] = [:]
    private var prefillCursor = 0

    let statistics = Mutex(EngineStatistics())

    init(model: LlamaModel, slots: Int, contextLength: Int, batchSize: Int, threads: Int) throws(ProcessorError) {
        self.model = model
        self.slots = slots
        self.contextLength = contextLength
        self.batchSize = batchSize
        batchCapacity = batchSize + slots
        var params = llama_context_default_params()
        params.n_ctx = UInt32(slots * contextLength)
        params.n_batch = UInt32(batchCapacity)
        params.n_ubatch = UInt32(min(batchCapacity, 512))
        params.n_seq_max = UInt32(slots)
        params.n_threads = Int32(threads)
        params.n_threads_batch = Int32(threads)
        // Batch invariance: a sequence gets the same greedy tokens alone or in a batch.
        // Each sequence has its own KV stream, so its cells are always in position order,
        // and attention uses the flash-attention kernel whose result depends only on that
        // order (the reference path, see LlamaRuntime). A unified cache would interleave
        // sequences and reuse holes out of order, which changes floating-point sums.
        params.kv_unified = false
        params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_ENABLED
        params.no_perf = true
        let created = LlamaRuntime.capturingErrors { llama_init_from_model(model.pointer, params) }
        guard let created else {
            throw .engineFailure("could not create a context for \(slots) slots × \(contextLength) tokens: "
                + (LlamaRuntime.lastErrors() ?? "out of memory?") + "; try fewer --slots or a smaller --context")
        }
        context = created
        memory = llama_get_memory(created)
        guard Int(llama_n_ctx_seq(created)) >= contextLength else {
            llama_free(created)
            throw .engineFailure("llama.cpp gave each sequence \(llama_n_ctx_seq(created)) tokens, fewer than \(contextLength)")
        }
        batch = llama_batch_init(Int32(batchCapacity), 0, 1)
        occupants = Array(repeating: nil, count: slots)
        statistics.withLock { $0.slots = slots }
        let thread = Thread { [self] in self.run() }
        thread.name = "anima-decode"
        thread.stackSize = 8 << 20
        thread.start()
    }

    deinit {
        llama_batch_free(batch)
        llama_free(context)
    }

    // MARK: Callers

    func submit(_ job: Job) {
        condition.lock()
        if stopping {
            condition.unlock()
            job.continuation.finish(throwing: ProcessorError.shutDown)
            return
        }
        inbox.append(job)
        condition.signal()
        condition.unlock()
    }

    func send(_ command: Command) {
        condition.lock()
        commands.append(command)
        condition.signal()
        condition.unlock()
    }

    /// Stops the thread after failing every generation; waits until it has exited.
    func shutdown() {
        condition.lock()
        let already = stopping
        stopping = true
        condition.signal()
        condition.unlock()
        if !already { finished.wait() }
    }

    // MARK: Decode thread

    private func run() {
        while true {
            condition.lock()
            while inbox.isEmpty && commands.isEmpty && !stopping && !hasRunnableWork {
                condition.wait()
            }
            let newJobs = inbox, newCommands = commands
            inbox.removeAll()
            commands.removeAll()
            let stop = stopping
            condition.unlock()

            if stop {
                for job in jobs.values { fail(job, ProcessorError.shutDown) }
                for command in newCommands { command.reject(ProcessorError.shutDown) }
                for job in newJobs { job.continuation.finish(throwing: ProcessorError.shutDown) }
                finished.signal()
                return
            }
            for job in newJobs {
                jobs[job.id] = job
                waiting.append(job)
            }
            for command in newCommands { handle(command) }
            admit()
            step()
            publish()
        }
    }

    private var hasRunnableWork: Bool { occupants.contains { $0 != nil } || (!waiting.isEmpty && occupants.contains { $0 == nil }) }

    private func handle(_ command: Command) {
        switch command {
        case .cancel(let id):
            guard let job = jobs[id] else { return }
            job.pendingResume?.resume(throwing: CancellationError())
            job.pendingResume = nil
            release(job)
            job.continuation.finish(throwing: CancellationError())
        case .suspend(let id, let reply):
            guard let job = jobs[id], job.state != .suspended else {
                reply.resume(throwing: ProcessorError.invalidRequest("that generation is not running"))
                return
            }
            let previousSlot = job.slot
            if let slot = job.slot {
                let size = llama_state_seq_get_size(context, slot)
                var bytes = [UInt8](repeating: 0, count: size)
                let written = llama_state_seq_get_data(context, &bytes, size, slot)
                guard written == size else {
                    reply.resume(throwing: ProcessorError.engineFailure("saving the KV state of slot \(slot) failed"))
                    return
                }
                job.snapshot = bytes
                llama_memory_seq_rm(memory, slot, -1, -1)
                occupants[Int(slot)] = nil
                job.slot = nil
            } else {
                waiting.removeAll { $0 === job }
            }
            job.state = .suspended
            reply.resume(returning: SuspendedState(
                previousSlot: previousSlot.map(Int.init), kvBytes: job.snapshot?.count ?? 0, tokens: job.history.count))
        case .resume(let id, let reply):
            guard let job = jobs[id], job.state == .suspended else {
                reply.resume(throwing: ProcessorError.invalidRequest("that generation is not suspended"))
                return
            }
            job.state = .waiting
            job.pendingResume = reply
            waiting.insert(job, at: 0)
        }
    }

    /// Gives free slots to waiting jobs, restoring saved KV state where there is some.
    private func admit() {
        while let free = occupants.firstIndex(where: { $0 == nil }), !waiting.isEmpty {
            let job = waiting.removeFirst()
            let slot = llama_seq_id(free)
            llama_memory_seq_rm(memory, slot, -1, -1)
            if let snapshot = job.snapshot {
                let read = snapshot.withUnsafeBufferPointer { llama_state_seq_set_data(context, $0.baseAddress, $0.count, slot) }
                job.snapshot = nil
                if read == 0 {
                    llama_memory_seq_rm(memory, slot, -1, -1)
                    fail(job, ProcessorError.engineFailure("restoring the saved KV state failed (no room in the cache?)"))
                    continue
                }
            }
            occupants[free] = job
            job.slot = slot
            job.state = .running
            job.lastRun = DispatchTime.now().uptimeNanoseconds
            job.pendingResume?.resume(returning: free)
            job.pendingResume = nil
        }
    }

    /// One decode step over every running sequence.
    private func step() {
        var n = 0
        var outputs: [(job: Job, index: Int32)] = []
        var added: [(job: Job, tokens: ArraySlice<llama_token>)] = []

        func add(_ token: llama_token, pos: Int, slot: llama_seq_id, logits: Bool) {
            batch.token[n] = token
            batch.pos[n] = llama_pos(pos)
            batch.n_seq_id[n] = 1
            batch.seq_id[n]![0] = slot
            batch.logits[n] = logits ? 1 : 0
            n += 1
        }

        // Running sequences: one token each.
        for case let job? in occupants where job.pending != nil {
            add(job.pending!, pos: job.history.count, slot: job.slot!, logits: true)
            outputs.append((job, Int32(n - 1)))
            added.append((job, [job.pending!]))
        }
        // Prompts still being read: fill the rest of the batch, taking turns.
        let readers = occupants.indices.map { (prefillCursor + $0) % slots }.compactMap { i -> Job? in
            guard let job = occupants[i], job.pending == nil, job.history.count < job.prompt.count else { return nil }
            return job
        }
        if !readers.isEmpty { prefillCursor = (prefillCursor + 1) % slots }
        for job in readers where n < batchCapacity {
            let start = job.history.count
            let take = min(batchCapacity - n, job.prompt.count - start)
            let chunk = job.prompt[start..<(start + take)]
            for (offset, token) in chunk.enumerated() {
                let last = start + offset == job.prompt.count - 1
                add(token, pos: start + offset, slot: job.slot!, logits: last)
            }
            if start + take == job.prompt.count { outputs.append((job, Int32(n - 1))) }
            added.append((job, chunk))
        }
        guard n > 0 else { return }
        batch.n_tokens = Int32(n)

        let started = DispatchTime.now().uptimeNanoseconds
        let rc = llama_decode(context, batch)
        let decoded = DispatchTime.now().uptimeNanoseconds
        statistics.withLock {
            $0.decodeSteps += 1
            $0.batchedTokens += n
            $0.decodeNanoseconds += decoded - started
        }
        guard rc == 0 else {
            let reason = rc == 1 ? "the KV cache is full" : "llama_decode returned \(rc)"
            for (job, _) in added { fail(job, ProcessorError.engineFailure(reason)) }
            return
        }
        let now = DispatchTime.now().uptimeNanoseconds
        for (job, tokens) in added {
            job.history.append(contentsOf: tokens)
            job.pending = nil
            job.lastRun = now
        }
        for (job, index) in outputs {
            let token = llama_sampler_sample(job.sampler, context, index)
            accept(token, for: job)
        }
        let sampled = DispatchTime.now().uptimeNanoseconds
        statistics.withLock { $0.samplingNanoseconds += sampled - decoded }
    }

    private func accept(_ token: llama_token, for job: Job) {
        job.generated += 1
        statistics.withLock { $0.generatedTokens += 1 }
        if model.isEndOfGeneration(token) && !job.ignoreEndOfTurn {
            finish(job, reason: .stop)
            return
        }
        for event in job.assembler.push(model.piece(token)) { job.continuation.yield(event) }
        if job.assembler.stopped {
            finish(job, reason: .stop)
        } else if job.generated >= job.maxTokens || job.history.count >= contextLength {
            finish(job, reason: .length)
        } else {
            job.pending = token
        }
    }

    private func finish(_ job: Job, reason: FinishReason) {
        for event in job.assembler.finish() { job.continuation.yield(event) }
        var reason = reason
        if reason == .stop, !job.assembler.toolCalls.isEmpty { reason = .toolCalls }
        if reason == .stop, let schema = job.schema, job.assembler.toolCalls.isEmpty {
            // The grammar makes this hold; checking keeps that promise honest.
            do {
                try schema.validate(try JSONValue(parsing: job.assembler.text))
            } catch {
                fail(job, ProcessorError.engineFailure("the constrained output does not match the schema: \(error)"))
                return
            }
        }
        job.continuation.yield(.usage(Usage(promptTokens: job.prompt.count, completionTokens: job.generated)))
        job.continuation.yield(.finished(reason))
        job.continuation.finish()
        release(job)
    }

    private func fail(_ job: Job, _ error: any Error) {
        job.pendingResume?.resume(throwing: error)
        job.pendingResume = nil
        job.continuation.finish(throwing: error)
        release(job)
    }

    /// Frees the job's slot and KV cells at once, and forgets it.
    private func release(_ job: Job) {
        if let slot = job.slot {
            llama_memory_seq_rm(memory, slot, -1, -1)
            occupants[Int(slot)] = nil
            job.slot = nil
        }
        waiting.removeAll { $0 === job }
        job.snapshot = nil
        job.state = .finished
        jobs[job.id] = nil
    }

    private func publish() {
        let running = occupants.compactMap { $0 }.count
        let queued = waiting.count
        let suspended = jobs.values.filter { $0.state == .suspended }.count
        statistics.withLock {
            $0.runningSequences = running
            $0.waitingRequests = queued
            $0.suspendedRequests = suspended
        }
    }
}

/// What the engine is doing, for monitoring and for tests.
public struct EngineStatistics: Sendable, Hashable {
    public var slots = 0
    public var runningSequences = 0
    public var waitingRequests = 0
    public var suspendedRequests = 0
    /// Calls to llama_decode so far.
    public var decodeSteps = 0
    /// Tokens sent through llama_decode (prompt and generated).
    public var batchedTokens = 0
    public var generatedTokens = 0
    /// Time spent inside llama_decode, and in sampling and emitting tokens after it.
    public var decodeNanoseconds: UInt64 = 0
    public var samplingNanoseconds: UInt64 = 0
}

/// The saved state of a suspended generation.
public struct SuspendedState: Sendable, Hashable {
    /// The slot it ran in, or nil if it had not started.
    public var previousSlot: Int?
    /// Size of its saved KV cache state.
    public var kvBytes: Int
    /// Tokens in that state (prompt read so far plus answer).
    public var tokens: Int
}

/// Requests from other threads to the decode thread.
enum Command: Sendable {
    case cancel(UInt64)
    case suspend(UInt64, CheckedContinuation<SuspendedState, any Error>)
    case resume(UInt64, CheckedContinuation<Int, any Error>)

    func reject(_ error: any Error) {
        switch self {
        case .cancel: break
        case .suspend(_, let reply): reply.resume(throwing: error)
        case .resume(_, let reply): reply.resume(throwing: error)
        }
    }
}

/// One generation as the decode thread sees it. Touched only on that thread once submitted.
final class Job: @unchecked Sendable {
    enum State { case waiting, running, suspended, finished }

    let id: UInt64
    let prompt: [llama_token]
    let sampler: UnsafeMutablePointer<llama_sampler>
    let maxTokens: Int
    let ignoreEndOfTurn: Bool
    let schema: JSONSchema?
    let continuation: AsyncThrowingStream<GenerationEvent, any Error>.Continuation
    var assembler: OutputAssembler

    var state = State.waiting
    var slot: llama_seq_id?
    /// Tokens whose keys and values are in the cache, in order.
    var history: [llama_token] = []
    /// Sampled and sent, not yet decoded.
    var pending: llama_token?
    var generated = 0
    var snapshot: [UInt8]?
    var pendingResume: CheckedContinuation<Int, any Error>?
    var lastRun: UInt64 = 0

    init(
        id: UInt64, prompt: [llama_token], sampler: UnsafeMutablePointer<llama_sampler>, maxTokens: Int,
        ignoreEndOfTurn: Bool, schema: JSONSchema?, assembler: OutputAssembler,
        continuation: AsyncThrowingStream<GenerationEvent, any Error>.Continuation
    ) {
        self.id = id
        self.prompt = prompt
        self.sampler = sampler
        self.maxTokens = maxTokens
        self.ignoreEndOfTurn = ignoreEndOfTurn
        self.schema = schema
        self.assembler = assembler
        self.continuation = continuation
    }

    deinit { llama_sampler_free(sampler) }
}
