import AnimaCore
import AnimaProcessor
import AnimaStorage
import Foundation

/// What the memory functions do through the pager: edit core memory blocks, search and
/// extend the agent's storage.
extension Pager {
    func appendToBlock(_ label: String, _ text: String) async throws -> CoreMemoryBlock {
        try await editBlock(label) { $0.isEmpty ? text : $0 + "\n" + text }
    }

    func replaceInBlock(_ label: String, old: String, new: String) async throws -> CoreMemoryBlock {
        guard let block = window.blocks.first(where: { $0.label == label }) else {
            throw MemoryError.unknownBlock(label: label, known: window.blocks.map(\.label))
        }
        guard !old.isEmpty, block.value.contains(old) else { throw MemoryError.textNotFound(label: label, text: old) }
        return try await editBlock(label) { $0.replacingOccurrences(of: old, with: new) }
    }

    func editBlock(_ label: String, _ change: (String) -> String) async throws -> CoreMemoryBlock {
        guard let index = window.blocks.firstIndex(where: { $0.label == label }) else {
            throw MemoryError.unknownBlock(label: label, known: window.blocks.map(\.label))
        }
        var block = window.blocks[index]
        block.value = change(block.value).trimmingCharacters(in: .whitespacesAndNewlines)
        let tokens = try await model.countTokens(text: block.value)
        guard tokens <= block.limit else { throw MemoryError.blockFull(label: label, tokens: tokens, limit: block.limit) }
        window.blocks[index] = block
        try await core.setValue(window.blocks, for: "blocks")
        // Blocks are within their limits, which `checkFixedCostsFit` reserved; messages
        // may still need to make room for a grown block.
        _ = try await enforceLimit()
        try await save()
        return block
    }

    // MARK: Storage access for the memory functions

    func searchConversation(_ query: MemoryQuery) async throws -> SearchPage<RecallEntry> {
        try await recall.search(try await embedded(query))
    }

    func insertArchival(_ text: String, tags: [String]) async throws -> ArchivalPassage {
        let embedding = try await embedder?.embed(text)
        return try await archival.insert(text, tags: tags, embedding: embedding)
    }

    func searchArchival(_ query: MemoryQuery) async throws -> SearchPage<ArchivalPassage> {
        try await archival.search(try await embedded(query))
    }

    /// `query` with its text's embedding, when it has text but no embedding and there is an embedder.
    private func embedded(_ query: MemoryQuery) async throws -> MemoryQuery {
        var query = query
        if let text = query.text, query.embedding == nil, let embedder, !text.isEmpty {
            query.embedding = try await embedder.embed(text)
        }
        return query
    }
}
