import AnimaCore
import AnimaProcessor
import AnimaStorage
import Foundation

/// The memory of every agent on this machine: one store, one embedder, and the pager
/// settings agents start with. The kernel holds one and opens a pager for each agent
/// process that asks for persistent memory.
public struct MemorySystem: Sendable {
    public let store: MemoryStore
    public let embedder: (any EmbeddingModel)?
    /// Settings every pager starts from; `systemPrefix` is replaced by the agent's own.
    public var configuration: PagerConfiguration
    /// Pages moved by all pagers of this system.
    public let counters = PagingCounters()

    public init(store: MemoryStore, embedder: (any EmbeddingModel)?, configuration: PagerConfiguration = .init(systemPrefix: "")) {
        self.store = store
        self.embedder = embedder
        self.configuration = configuration
    }

    /// Opens the pager of agent `agent` of `user`, restoring what it kept when it ran before.
    ///
    /// - Parameters:
    ///   - model: the processor the agent runs on; its tokenizer and context length set the budget.
    ///   - systemPrefix: the agent's fixed system prompt.
    /// Why `name` cannot name an agent's memory, or nil when it can.
    public static func problem(withAgentName name: String) -> String? {
        do throws(StorageError) {
            try MemoryNamespace.check(name, what: "agent")
            return nil
        } catch .invalidNamespace(let reason) {
            return reason
        } catch {
            return error.description
        }
    }

    public func pager(user: String, agent: String, model: any LanguageModel, systemPrefix: String) async throws -> Pager {
        var configuration = configuration
        configuration.systemPrefix = systemPrefix
        return try await Pager.open(
            namespace: try await Self.checkingRequest { try MemoryNamespace(user: user, agent: agent) }, store: store, model: model,
            embedder: embedder,
            configuration: configuration, counters: counters)
    }

    /// Searches the memory of `user`'s agent, or of all their agents, by words and (with
    /// an embedder) by meaning: messages and passages together, best first, one page of
    /// the whole result (each record has its rank in it).
    ///
    /// - Returns: the records, how many matches were left out as damaged, and whether
    ///   there are more.
    public func search(user: String, _ request: MemorySearchRequest) async throws -> MemorySearchResult {
        if let problem = request.problem { throw MemoryError.invalidRequest(problem) }
        return try await Self.checkingRequest { try await uncheckedSearch(user: user, request) }
    }

    /// Searches by words and meaning; `limit` counts the whole result.
    public func search(user: String, agent: String?, text: String, limit: Int = 10) async throws -> MemorySearchResult {
        try await search(user: user, MemorySearchRequest(text: text, agent: agent, limit: limit))
    }

    private func uncheckedSearch(user: String, _ request: MemorySearchRequest) async throws -> MemorySearchResult {
        let namespaces =
            if let agent = request.agent { [try MemoryNamespace(user: user, agent: agent)] } else {
                try await store.namespaces(user: user)
            }
        let text = request.text.trimmingCharacters(in: .whitespacesAndNewlines)
        let ranked = !text.isEmpty
        // Every store gives its best `offset + limit`; the page is cut from them merged.
        let depth = request.offset + request.limit
        let query = MemoryQuery(
            text: ranked ? text : nil, embedding: ranked ? try await embedder?.embed(text) : nil, after: request.after,
            before: request.before, tags: request.tags, limit: depth, sources: request.sources)
        var records: [MemoryRecord] = []
        var damaged = 0
        var storesHaveMore = false
        for namespace in namespaces {
            // Messages carry no tags, so a search for tags leaves them out.
            let stores: [any MemoryRecordSearch] =
                request.tags.isEmpty ? [store.recall(namespace), store.archival(namespace)] : [store.archival(namespace)]
            for source in stores {
                let found = try await source.records(query, agent: namespace.agent)
                damaged += found.damaged
                storesHaveMore = storesHaveMore || found.hasMore
                records += found.records
            }
        }
        // Best score first; a listing (no text) newest first. Ties in a fixed order.
        records.sort { a, b in
            if a.score != b.score { return a.score > b.score }
            if a.happenedAt != b.happenedAt { return a.happenedAt > b.happenedAt }
            return (a.agent, a.kind.rawValue, a.id) < (b.agent, b.kind.rawValue, b.id)
        }
        let page = Array(records.dropFirst(request.offset).prefix(request.limit))
        return MemorySearchResult(
            records: page.enumerated().map { index, record in
                var record = record
                record.rank = request.offset + index + 1
                return record
            }, damaged: damaged, hasMore: records.count > depth || storesHaveMore)
    }

    /// Most passages one batch may hold.
    public static let maximumBatch = 10_000
    /// Texts embedded per call to the embedder.
    static let embeddingBatch = 64

    /// Saves passages to the archival memory of `user`'s agent `agent` in one transaction:
    /// all of them, or (when any is refused) none. Embeddings are computed in batches.
    ///
    /// - Returns: the passages' IDs, in order.
    public func insert(user: String, agent: String, passages: [NewMemoryPassage], at date: Date = Date()) async throws -> [Int64] {
        guard (1...Self.maximumBatch).contains(passages.count) else {
            throw MemoryError.invalidRequest(
                "a batch holds 1 to \(Self.maximumBatch) passages, not \(passages.count); split larger imports into several batches")
        }
        return try await Self.checkingRequest {
            let namespace = try MemoryNamespace(user: user, agent: agent)
            // Each refusal names the passage, so a caller can fix it and send the batch again.
            for (index, passage) in passages.enumerated() {
                if passage.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                    throw MemoryError.invalidRequest("passage \(index + 1) of the batch is empty; every passage needs text")
                }
                if let happened = passage.happenedAt { try MemoryTime.check(happened, what: "passage \(index + 1)'s time") }
            }
            var embeddings: [[Float]?] = Array(repeating: nil, count: passages.count)
            if let embedder {
                var start = 0
                while start < passages.count {
                    let end = min(passages.count, start + Self.embeddingBatch)
                    let vectors = try await embedder.embed(passages[start..<end].map(\.text))
                    for (offset, vector) in vectors.enumerated() { embeddings[start + offset] = vector }
                    start = end
                }
            }
            let stored = try await store.archival(namespace).insert(
                zip(passages, embeddings).map { passage, embedding in
                    NewArchivalPassage(
                        text: passage.text, tags: passage.tags, createdAt: date, happenedAt: passage.happenedAt, source: passage.source,
                        trust: passage.trust, embedding: embedding)
                })
            return stored.map(\.id)
        }
    }

    /// Saves one passage from the user to the archival memory of `user`'s agent `agent`.
    ///
    /// - Returns: the passage's ID.
    public func insert(user: String, agent: String, text: String, tags: [String]) async throws -> Int64 {
        try await insert(user: user, agent: agent, passages: [NewMemoryPassage(text: text, tags: tags)])[0]
    }

    /// Runs `body`, reporting a storage error caused by the request as `MemoryError.invalidRequest`.
    static func checkingRequest<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StorageError where error.isBadRequest {
            throw MemoryError.invalidRequest(error.description)
        }
    }

    /// What agent `agent` of `user` keeps, as `anima memory show` prints it.
    public func snapshot(user: String, agent: String) async throws -> AgentMemorySnapshot {
        let namespace = try MemoryNamespace(user: user, agent: agent)
        let core = store.coreMemory(namespace)
        let window = try await Pager.savedWindow(in: core)
        return AgentMemorySnapshot(
            blocks: try await core.value("blocks", as: [CoreMemoryBlock].self) ?? [], summary: window.summary,
            resident: window.messages, messages: try await store.recall(namespace).count(),
            passages: try await store.archival(namespace).count(), pageIns: try await Pager.savedPageIns(in: core))
    }

    /// Erases records of agent `agent` of `user` from both stores: the recall messages
    /// and archival passages with these IDs, or everything the agent kept when `ids` is nil.
    ///
    /// - Returns: how many records went.
    public func forget(user: String, agent: String, recallIDs: [Int64]?, archivalIDs: [Int64]?) async throws -> Int {
        let namespace = try await Self.checkingRequest { try MemoryNamespace(user: user, agent: agent) }
        guard recallIDs != nil || archivalIDs != nil else {
            let count = try await store.recall(namespace).count() + store.archival(namespace).count()
            try await store.erase(namespace)
            return count
        }
        if let recallIDs { try await Pager.dropResident(Set(recallIDs), in: store.coreMemory(namespace)) }
        let recall = try await store.recall(namespace).erase(recallIDs ?? [])
        let archival = try await store.archival(namespace).erase(archivalIDs ?? [])
        return recall + archival
    }
}
