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

    /// Searches the memory of `user`'s agent `agent`, or of all their agents, by words and
    /// (with an embedder) by meaning: messages and passages, best first within each agent.
    ///
    /// - Parameter limit: most results per agent and store.
    /// - Returns: the records, and how many matches were left out as damaged.
    public func search(user: String, agent: String?, text: String, limit: Int = 10) async throws -> MemorySearchResult {
        try await Self.checkingRequest { try await uncheckedSearch(user: user, agent: agent, text: text, limit: limit) }
    }

    private func uncheckedSearch(user: String, agent: String?, text: String, limit: Int) async throws -> MemorySearchResult {
        let namespaces = if let agent { [try MemoryNamespace(user: user, agent: agent)] } else { try await store.namespaces(user: user) }
        let query = MemoryQuery(text: text, embedding: try await embedder?.embed(text), limit: limit)
        var records: [MemoryRecord] = []
        var damaged = 0
        for namespace in namespaces {
            var found: [MemoryRecord] = []
            let messages = try await store.recall(namespace).search(query)
            let passages = try await store.archival(namespace).search(query)
            damaged += messages.damaged + passages.damaged
            for hit in messages.hits {
                found.append(
                    MemoryRecord(
                        agent: namespace.agent, kind: .message, id: hit.item.id, text: hit.item.message.content,
                        label: hit.item.message.role.rawValue, createdAt: hit.item.createdAt, score: hit.score))
            }
            for hit in passages.hits {
                found.append(
                    MemoryRecord(
                        agent: namespace.agent, kind: .passage, id: hit.item.id, text: hit.item.text,
                        label: hit.item.tags.joined(separator: ","), createdAt: hit.item.createdAt, score: hit.score))
            }
            records += found.sorted { $0.score > $1.score }
        }
        return MemorySearchResult(records: records, damaged: damaged)
    }

    /// Saves a passage to the archival memory of `user`'s agent `agent`.
    ///
    /// - Returns: the passage's ID.
    public func insert(user: String, agent: String, text: String, tags: [String]) async throws -> Int64 {
        try await Self.checkingRequest {
            let namespace = try MemoryNamespace(user: user, agent: agent)
            let embedding = try await embedder?.embed(text)
            return try await store.archival(namespace).insert(text, tags: tags, embedding: embedding).id
        }
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
            passages: try await store.archival(namespace).count(), pageIns: window.pageIns)
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
