import AnimaProcessor
import CLlama

/// Context switches, on the decode thread: a generation's KV state saved off its slot, and
/// a generation put on a slot (restored, or started from what the slot or the prefix cache
/// already holds).
extension DecodeLoop {
    /// Saves the job's KV state and frees its slot (a context switch out); `parked` when the
    /// job is being suspended rather than preempted.
    func saveAndVacate(_ job: Job, parked: Bool = false) -> (any Error)? {
        guard let slot = job.slot else { return nil }
        let size = llama_state_seq_get_size(context, slot)
        let bytes = swap.bytes(size)
        let written = llama_state_seq_get_data(context, bytes.base, size, slot)
        llama_memory_seq_rm(memory, slot, -1, -1)
        job.slot = nil
        guard written == size, size > 0 else {
            swap.recycle(bytes)
            return ProcessorError.engineFailure("saving the KV state of slot \(slot) failed")
        }
        job.snapshot = swap.store(bytes, for: job.id, lastRun: table.entries[job.id]?.lastRunStep ?? 0, parked: parked)
        publishSwap()
        return nil
    }

    /// Puts a job on a slot: restores its saved state, keeps what the slot already holds of
    /// its prompt, reuses a cached shared prefix, or starts it fresh.
    ///
    /// A kept start is exact: the KV values of a token depend only on the tokens before it
    /// (the kernels are batch-invariant, see `LlamaEngineTests`), and the last prompt token is
    /// always read again, for its logits.
    func place(_ job: Job, in slot: llama_seq_id) -> (any Error)? {
        let held = resident.removeValue(forKey: slot).flatMap { $0.owner == job.owner ? $0.tokens : nil } ?? []
        job.slot = slot
        if job.snapshot == nil, job.history.isEmpty {
            let common = min(zip(held, job.prompt).prefix { $0 == $1 }.count, job.prompt.count - 1)
            let cached = job.sharedPrefix > common && prefixCache.isEnabled
            if common > 0, !cached, llama_memory_seq_rm(memory, slot, llama_pos(common), -1) {
                job.history = Array(job.prompt[..<common])
                statistics.withLock { $0.reusedPromptTokens += common }
                return nil
            }
        }
        llama_memory_seq_rm(memory, slot, -1, -1)
        if let snapshot = job.snapshot {
            job.snapshot = nil
            let bytes: SwapSpace.Bytes
            do { bytes = try swap.load(snapshot) } catch { return error }
            publishSwap()
            let read = llama_state_seq_set_data(context, bytes.base, bytes.count, slot)
            swap.recycle(bytes)
            if read == 0 { return ProcessorError.engineFailure("restoring a saved KV state failed") }
            statistics.withLock { $0.restores += 1 }
        } else if job.history.isEmpty, job.sharedPrefix > 0, prefixCache.isEnabled {
            let prefix = job.prompt[..<job.sharedPrefix]
            if let source = prefixCache.lookup(prefix, owner: job.owner, now: table.step) {
                llama_memory_seq_cp(memory, source, slot, -1, -1)
                job.history = Array(prefix)
                statistics.withLock { $0.sharedPrefixHits += 1 }
            } else {
                job.capturesPrefix = true
            }
        }
        return nil
    }
}
