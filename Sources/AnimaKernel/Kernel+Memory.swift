import AnimaCore
import AnimaMemory
import AnimaProcessor
import AnimaSecurity
import Foundation

/// Persistent agent memory (attach, the memory functions) and the owners' key-value store.
extension Kernel {
    /// A memory function the model called: it runs on the process's own pager, so it can
    /// only reach the memory of this agent of this owner.
    func callMemoryFunction(_ call: ToolCall, on pager: Pager, for process: ProcessRecord) async throws -> ToolOutput {
        if let limit = process.quotas.toolCalls, process.usage.toolCalls >= limit {
            terminate(process.pid, status: .quotaExceeded("tool calls (\(limit))"))
            throw SyscallError.quotaExceeded("tool calls (\(limit))")
        }
        process.usage.toolCalls += 1
        emit(.toolCall(process.pid, call))
        // A passage keeps the untrusted sources of what it was made from, so that what
        // is read back in a later session is still known to come from there.
        let call = security.tagged(call, context: process.provenance)
        let result = await blocked(process, on: "memory \(call.name)") { await pager.functions.execute(call) }
        // What memory gives back was written earlier, perhaps from untrusted text: it is labelled
        // memory, plus the sources archival passages recorded when they were saved.
        var label = ProvenanceLabel(.memory, readers: [process.owner.name])
        if call.name == "archival_search" { label = label.joined(with: MemoryProvenance.label(ofSearchResult: result.json)) }
        let output = ToolOutput(text: result.text, isError: result.isError, label: label)
        takeIn(label, process)
        security.observe(output.text, label: label, in: &process.provenance)
        emit(.toolResult(process.pid, output))
        return output
    }

    func persistentMemory() throws(SyscallError) -> MemorySystem {
        guard let memorySystem else {
            throw .failed("this kernel runs without persistent memory (start it with a data directory, e.g. anima serve)")
        }
        return memorySystem
    }

    /// Opens the persistent memory of agent `agent` of the process's owner for the
    /// process, or returns nil when the kernel has no memory system.
    func attachMemory(_ agent: String, systemPrefix: String, for process: ProcessRecord) async throws -> Pager? {
        guard let memorySystem else { return nil }
        if let pager = process.pager { return pager }
        // The pager counts tokens and writes summaries with the model.
        guard let processor else { throw SyscallError.noModel }
        // Memory is private: behind a router, the pager's own calls (counting, summaries) stay local too.
        let model: any LanguageModel = processor.routing != nil ? PrivateProcessor(base: processor) : processor
        let pager = try await memorySystem.pager(
            user: process.owner.name, agent: agent, model: model, systemPrefix: systemPrefix)
        process.pager = pager
        // From now on the context holds the agent's core memory and whatever is paged in.
        takeIn(ProvenanceLabel(.memory), process)
        if security.tracksProvenance {
            // What an earlier session left in the window (core memory, the summary, its
            // messages) may have come from anywhere: it is memory, and untrusted.
            let window = await pager.window
            for text in window.blocks.map(\.value) + [window.summary] + window.messages.map(\.message.content) {
                security.observe(text, label: ProvenanceLabel(.memory, readers: [process.owner.name]), in: &process.provenance)
            }
        }
        return pager
    }

    func perform(_ operation: MemoryOperation, for process: ProcessRecord) -> SyscallResult {
        let owner = process.owner.name
        switch operation {
        case .read(let key):
            guard let cell = keyValues.read(key, of: owner) else { return .value(nil) }
            takeIn(ProvenanceLabel(.memory), process)
            // What the user stored stays theirs; anything else is labelled memory as well.
            let label = cell.label.isTrusted ? cell.label : cell.label.joined(with: ProvenanceLabel(.memory, readers: [owner]))
            security.observe(cell.value.text, label: label, in: &process.provenance)
            return .value(cell.value)
        case .write(let key, let value):
            keyValues.write(value, label: process.provenance.label(of: value.text), at: key, of: owner)
            return .done
        case .erase(let key):
            keyValues.erase(key, of: owner)
            return .done
        case .list(let prefix):
            return .keys(keyValues.keys(of: owner, prefix: prefix))
        case .attach, .forget, .search, .insert, .agents, .show:
            preconditionFailure("handled by the syscall dispatch")
        }
    }
}
