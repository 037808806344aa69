import AnimaCore
import AnimaProcessor
import CLlama
import Foundation
import Synchronization

/// The engine's continuous batch: one llama.cpp context, `slots` sequences, and a
/// dedicated thread that decodes them together.
///
/// Every step carries the next token of each running sequence plus chunks of prompts
/// still being read (prefill), up to the batch size. Between steps the scheduler (the
/// kernel's, consulted synchronously on this thread) decides who holds the slots: a generation it leaves out is preempted (its KV state saved, in
/// memory or swapped to disk) and later restored into any free slot. Requests, cancels
/// and suspensions also take effect between steps, so within one step. All llama.cpp calls
/// on the context happen on this thread.
final class DecodeLoop: @unchecked Sendable {
    let model: LlamaModel
    let slots: Int
    let contextLength: Int
    let batchSize: Int

    let context: OpaquePointer
    let memory: OpaquePointer
    private var batch: llama_batch
    private let batchCapacity: Int
    private let scheduler: any SlotScheduler
    let swap: SwapSpace

    /// New generations and commands from callers, taken all at once between steps.
    private enum Message {
        case job(Job)
        case command(Command)
    }
    private let inbox = LoopInbox<Message>()

    // Decode-thread state.
    var table: SlotTable
    private var jobs: [UInt64: Job] = [:]
    var prefixCache: PrefixCache
    /// The tokens whose KV cells a slot still holds from the generation that finished on it,
    /// and whose they were: the owner's next prompt placed there reads only what follows their
    /// common start.
    var resident: [llama_seq_id: (owner: String?, tokens: [Int32])] = [:]
    private var prefillCursor = 0
    private var switchBudget = SwitchBudget()
    /// The settings in force (`EngineSettings`); changed only between steps, by `.apply`.
    private var current: EngineSettings
    /// What `current` was last set to, readable from any thread.
    let settings: Mutex<EngineSettings>
    let settingLimits: EngineSettingLimits

    let statistics = Mutex(EngineStatistics())
    /// Which generation holds which slot, as of the last step; readable from any thread.
    private let slotMap = Mutex<[UInt64: Int]>([:])

    func slot(of id: UInt64) -> Int? { slotMap.withLock { $0[id] } }

    struct Options {
        var slots: Int
        var activeSlots: Int
        var contextLength: Int
        var batchSize: Int
        var threads: Int
        var scheduler: any SlotScheduler
        var sharedPrefixSequences: Int
        var swapMemoryLimit: Int
        var swapDirectory: URL
    }

    init(model: LlamaModel, options o: Options) throws(ProcessorError) {
        self.model = model
        slots = o.slots
        contextLength = o.contextLength
        batchSize = o.batchSize
        batchCapacity = o.batchSize + o.slots
        scheduler = o.scheduler
        let initial = EngineSettings(
            threads: o.threads, batchTokens: o.batchSize, activeSlots: min(o.activeSlots, o.slots), timeSlice: o.scheduler.timeSlice)
        current = initial
        settings = Mutex(initial)
        settingLimits = EngineSettingLimits(
            threads: 1...max(o.threads, ProcessInfo.processInfo.activeProcessorCount),
            batchTokens: min(16, o.batchSize)...o.batchSize, activeSlots: 1...o.slots)
        swap = SwapSpace(memoryLimit: o.swapMemoryLimit, directory: o.swapDirectory)
        let sequences = o.slots + o.sharedPrefixSequences
        var params = llama_context_default_params()
        params.n_ctx = UInt32(sequences * o.contextLength)
        params.n_batch = UInt32(batchCapacity)
        params.n_ubatch = UInt32(min(batchCapacity, 512))
        params.n_seq_max = UInt32(sequences)
        params.n_threads = Int32(o.threads)
        params.n_threads_batch = Int32(o.threads)
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
            throw .engineFailure(
                "could not create a context for \(sequences) sequences × \(o.contextLength) tokens: "
                    + (LlamaRuntime.lastErrors() ?? "out of memory?") + "; try fewer --slots or a smaller --context")
        }
        guard Int(llama_n_ctx_seq(created)) >= o.contextLength else {
            llama_free(created)
            throw .engineFailure("llama.cpp gave each sequence \(llama_n_ctx_seq(created)) tokens, fewer than \(o.contextLength)")
        }
        context = created
        memory = llama_get_memory(created)
        batch = llama_batch_init(Int32(batchCapacity), 0, 1)
        table = SlotTable(slots: o.slots)
        prefixCache = PrefixCache(sequences: (o.slots..<sequences).map { llama_seq_id($0) })
        statistics.withLock { $0.slots = o.slots }
        // A thread the loop owns outright, not a `DedicatedThread` executor: between steps
        // it drains every request at once and decodes all generations together, with no
        // actor hop or per-job wake-up per step.
        DedicatedThread.detach(name: "anima-decode", stackSize: 8 << 20) { [self] in self.run() }
    }

    deinit {
        llama_batch_free(batch)
        llama_free(context)
    }

    // MARK: Callers

    func submit(_ job: Job) {
        if !inbox.post(.job(job)) { job.continuation.finish(throwing: ProcessorError.shutDown) }
    }

    func send(_ command: Command) {
        if !inbox.post(.command(command)) { command.reject(ProcessorError.shutDown) }
    }

    /// Stops the thread after failing every generation; waits until it has exited.
    func shutdown() {
        inbox.stop()
        swap.removeAll()
    }

    // MARK: Decode thread

    private func run() {
        while true {
            let (messages, stop) = inbox.take(wait: !hasWork)
            var newJobs: [Job] = []
            var newCommands: [Command] = []
            for message in messages {
                switch message {
                case .job(let job): newJobs.append(job)
                case .command(let command): newCommands.append(command)
                }
            }

            if stop {
                for job in jobs.values { fail(job, ProcessorError.shutDown) }
                for command in newCommands { command.reject(ProcessorError.shutDown) }
                for job in newJobs { job.continuation.finish(throwing: ProcessorError.shutDown) }
                inbox.finish()
                return
            }
            for job in newJobs {
                jobs[job.id] = job
                table.add(job.id, priority: job.priority, wholeAnswer: job.held != nil)
            }
            for command in newCommands { handle(command) }
            schedule()
            step()
            publish()
        }
    }

    /// True while some generation runs or waits for a slot it could get.
    private var hasWork: Bool { table.hasWork }

    private func handle(_ command: Command) {
        switch command {
        case .cancel(let id, let done):
            if let job = jobs[id] {
                job.pendingResume?.resume(throwing: CancellationError())
                job.pendingResume = nil
                release(job)
                job.continuation.finish(throwing: CancellationError())
            }
            done?.resume()
        case .suspend(let id, let reply):
            guard let job = jobs[id], table.entries[id]?.state != .suspended else {
                reply.resume(throwing: ProcessorError.invalidRequest("that generation is not running"))
                return
            }
            let previousSlot = job.slot
            if job.slot != nil, let error = saveAndVacate(job, parked: true) {
                reply.resume(throwing: error)
                return
            }
            if let snapshot = job.snapshot { swap.mark(snapshot, parked: true) }
            table.suspend(id)
            reply.resume(
                returning: SuspendedState(
                    previousSlot: previousSlot.map(Int.init), kvBytes: job.snapshot?.byteCount ?? 0, tokens: job.history.count))
        case .resume(let id, let reply):
            guard let job = jobs[id], table.entries[id]?.state == .suspended else {
                reply.resume(throwing: ProcessorError.invalidRequest("that generation is not suspended"))
                return
            }
            job.pendingResume = reply
            if let snapshot = job.snapshot { swap.mark(snapshot, parked: false) }
            table.resume(id)
        case .setPriority(let id, let priority):
            table.setPriority(id, priority)
        case .apply(let wanted):
            var next = wanted.clamped(to: settingLimits)
            if next.threads != current.threads { llama_set_n_threads(context, Int32(next.threads), Int32(next.threads)) }
            if current.timeSlice == nil { next.timeSlice = nil }
            if let slice = next.timeSlice, slice != current.timeSlice { scheduler.setTimeSlice(slice) }
            if next != current {
                // Waits from here on are the new settings'; what a generation waited before
                // (off its slot, say) is not theirs to answer for in the tuner's next window.
                let now = DispatchTime.now().uptimeNanoseconds
                for job in jobs.values { job.lastToken = now }
            }
            current = next
            settings.withLock { $0 = next }
        }
    }

    /// Carries out the scheduler's plan of who holds the slots for the next step.
    private func schedule() {
        var plan = table.plan(scheduler, active: current.activeSlots)
        // Over the switch budget, those the policy would take off keep their slots a while
        // longer (unless more run than the active slots allow).
        if !plan.preempt.isEmpty, !switchBudget.allowsPreemption, table.runningIDs.count <= current.activeSlots {
            plan = SlotPlan(admit: plan.admit.filter { table.occupants[$0.slot] == nil })
        }
        // No more generations decode at once than the active slots allow; the rest wait
        // (the scheduler plans for them; this holds whatever it answers).
        let room = max(0, current.activeSlots - (table.runningIDs.count - plan.preempt.count))
        if plan.admit.count > room { plan.admit = Array(plan.admit.prefix(room)) }
        guard !plan.preempt.isEmpty || !plan.admit.isEmpty else { return }
        let started = DispatchTime.now().uptimeNanoseconds
        defer {
            let spent = DispatchTime.now().uptimeNanoseconds - started
            switchBudget.switched(spent)
            statistics.withLock { $0.switchNanoseconds += spent }
        }
        for id in plan.preempt {
            guard let job = jobs[id] else { continue }
            if let error = saveAndVacate(job) { fail(job, error) }
            statistics.withLock { $0.preemptions += 1 }
        }
        table.apply(SlotPlan(preempt: plan.preempt.filter { jobs[$0] != nil }, admit: plan.admit))
        for (id, slot) in plan.admit {
            guard let job = jobs[id] else { continue }
            if let error = place(job, in: llama_seq_id(slot)) {
                fail(job, error)
                continue
            }
            job.pendingResume?.resume(returning: slot)
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

        let running = table.runningIDs.compactMap { jobs[$0] }.sorted { $0.slot! < $1.slot! }
        // Running sequences: one token each.
        for job in running where job.pending != nil {
            add(job.pending!, pos: job.history.count, slot: job.slot!, logits: true)
            outputs.append((job, Int32(n - 1)))
            added.append((job, [job.pending!]))
        }
        // Prompts still being read: fill the rest of the batch, taking turns.
        let readers = running.filter { $0.pending == nil && $0.history.count < $0.prompt.count }
        if !readers.isEmpty { prefillCursor += 1 }
        let filled = min(batchCapacity, n + current.batchTokens)
        for k in readers.indices where n < filled {
            let job = readers[(k + prefillCursor) % readers.count]
            let start = job.history.count
            // A prefix worth sharing ends a chunk, so it can be copied exactly.
            let end = job.capturesPrefix && start < job.sharedPrefix ? job.sharedPrefix : job.prompt.count
            let take = min(filled - n, end - start)
            let chunk = job.prompt[start..<(start + take)]
            for (offset, token) in chunk.enumerated() {
                add(token, pos: start + offset, slot: job.slot!, logits: start + offset == job.prompt.count - 1)
            }
            if start + take == job.prompt.count { outputs.append((job, Int32(n - 1))) }
            added.append((job, chunk))
        }
        guard n > 0 else { return }
        batch.n_tokens = Int32(n)

        let started = DispatchTime.now().uptimeNanoseconds
        let rc = llama_decode(context, batch)
        let decoded = DispatchTime.now().uptimeNanoseconds
        switchBudget.decoded(decoded - started)
        statistics.withLock {
            $0.decodeSteps += 1
            $0.batchedTokens += n
            $0.decodeNanoseconds += decoded - started
        }
        guard rc == 0 else {
            let reason = rc == 1 ? "the KV cache is full" : "llama_decode returned \(rc)"
            for (job, _) in added { fail(job, ProcessorError.engineFailure(reason)) }
            table.finishStep()
            return
        }
        for (job, tokens) in added {
            job.history.append(contentsOf: tokens)
            job.pending = nil
            if job.capturesPrefix, job.history.count == job.sharedPrefix, let slot = job.slot {
                job.capturesPrefix = false
                let target = prefixCache.insert(job.prompt[..<job.sharedPrefix], owner: job.owner, now: table.step)
                llama_memory_seq_rm(memory, target, -1, -1)
                llama_memory_seq_cp(memory, slot, target, -1, -1)
            }
        }
        for (job, index) in outputs {
            let token = wrapUpToken(job, index) ?? llama_sampler_sample(job.sampler, context, index)
            table.recordToken(job.id)
            accept(token, for: job)
        }
        table.finishStep()
        let sampled = DispatchTime.now().uptimeNanoseconds
        statistics.withLock { $0.samplingNanoseconds += sampled - decoded }
    }

    /// Near the end of its budget, a call or JSON answer under a grammar closes (`WrapUp`).
    private func wrapUpToken(_ job: Job, _ index: Int32) -> llama_token? {
        guard job.wrapsUp, let grammar = job.grammar, let logits = llama_get_logits_ith(context, index) else { return nil }
        let ignoresEnd = job.ignoreEndOfTurn
        guard
            let choice = WrapUp.pick(
                logits: logits, grammar: grammar, kinds: tokenKinds, excluding: { ignoresEnd && self.model.isEndOfGeneration($0) })
        else { return nil }
        if choice.steered { job.steered = true }
        llama_sampler_accept(job.sampler, choice.token)
        return choice.token
    }

    /// `WrapUp.kinds` of the model's tokens, worked out when a generation first needs them.
    private lazy var tokenKinds = WrapUp.kinds(model)

    private func accept(_ token: llama_token, for job: Job) {
        job.generated += 1
        // The wait since its previous token (or since it was asked for), time off its slot included.
        let now = DispatchTime.now().uptimeNanoseconds
        let wait = now - job.lastToken
        job.lastToken = now
        statistics.withLock {
            $0.generatedTokens += 1
            if job.generated == 1 { $0.firstTokenLatencies.record(nanoseconds: wait) } else { $0.tokenGaps.record(nanoseconds: wait) }
        }
        if model.isEndOfGeneration(token) && !job.ignoreEndOfTurn {
            finish(job, reason: .stop)
            return
        }
        job.hand(job.assembler.push(model.piece(token)))
        if job.assembler.stopped {
            finish(job, reason: .stop)
        } else if job.generated >= job.maxTokens || job.history.count >= contextLength {
            finish(job, reason: .length)
        } else {
            job.pending = token
        }
    }

    private func finish(_ job: Job, reason: FinishReason) {
        job.hand(job.assembler.finish())
        var reason = reason
        // A structure the budget closed is shortened: the limit, not the model, ended it.
        if job.steered { reason = .length }
        if reason == .stop, !job.assembler.toolCalls.isEmpty { reason = .toolCalls }
        if reason == .stop || job.steered, let schema = job.schema, job.assembler.toolCalls.isEmpty {
            // The grammar makes this hold; checking keeps that promise honest.
            do {
                try schema.validate(try JSONValue(parsing: job.assembler.text))
            } catch {
                fail(job, ProcessorError.engineFailure("the constrained output does not match the schema: \(error)"))
                return
            }
        }
        job.handOverHeld()
        job.continuation.yield(.usage(Usage(promptTokens: job.prompt.count, completionTokens: job.generated)))
        job.continuation.yield(.finished(reason))
        job.continuation.finish()
        release(job, keepingCells: true)
    }

    private func fail(_ job: Job, _ error: any Error) {
        job.pendingResume?.resume(throwing: error)
        job.pendingResume = nil
        job.continuation.finish(throwing: error)
        release(job)
    }

    /// Frees the job's slot, KV cells and saved state at once, and forgets it. A generation
    /// that finished leaves its cells to the slot (`resident`) for the next prompt placed there.
    private func release(_ job: Job, keepingCells: Bool = false) {
        if let slot = job.slot {
            if keepingCells {
                resident[slot] = (job.owner, job.history)
            } else {
                llama_memory_seq_rm(memory, slot, -1, -1)
            }
            job.slot = nil
        }
        if let snapshot = job.snapshot {
            swap.discard(snapshot)
            job.snapshot = nil
            publishSwap()
        }
        table.remove(job.id)
        jobs[job.id] = nil
    }

    private func publish() {
        let map = Dictionary(uniqueKeysWithValues: table.runningIDs.compactMap { id in table.slot(of: id).map { (id, $0) } })
        slotMap.withLock { $0 = map }
        let running = table.runningIDs.count, ready = table.readyCount, suspended = table.suspendedCount
        statistics.withLock {
            $0.runningSequences = running
            $0.waitingRequests = ready
            $0.suspendedRequests = suspended
        }
    }

    func publishSwap() {
        let usage = swap.usage
        statistics.withLock {
            $0.swappedInMemoryBytes = usage.memoryBytes
            $0.swappedToDiskBytes = usage.diskBytes
            $0.swapOuts = usage.swapOuts
        }
    }
}
