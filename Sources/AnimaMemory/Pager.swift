import AnimaCore
import AnimaProcessor
import AnimaStorage
import Foundation

/// The pager of one agent process: it owns the agent's `ContextWindow` and moves data
/// between it and storage, so the agent appears to have unbounded memory.
///
/// - Every message is written to recall storage as it arrives; eviction only drops it
///   from the window (and folds it into the recursive summary), so nothing is lost.
/// - Resident memory is kept under its limit with exact token counts: a pressure warning
///   past `pressureFraction`, eviction past the limit down to `evictionTarget`.
/// - Before each generation, `prepare` pages in what the query needs from recall and
///   archival storage (hybrid full-text and vector search) within the page budget,
///   without an extra model call.
/// - The memory functions (`functions`) let the model edit core memory and search and
///   extend its storage itself.
///
/// One pager per agent; its namespace confines every storage access.
public actor Pager {
    public nonisolated let namespace: MemoryNamespace
    public nonisolated let configuration: PagerConfiguration
    let recall: RecallStore
    let archival: ArchivalStore
    let core: CoreMemoryStore
    let model: any LanguageModel
    let embedder: (any EmbeddingModel)?
    let summariser: Summariser
    var tools: [ToolDefinition]
    public internal(set) var window: ContextWindow
    var clock: UInt64 = 0
    var messageOverhead: Int?
    let counters: PagingCounters?
    /// The newest page-in decisions, newest last (at most `configuration.pageInHistory`).
    public internal(set) var pageInEvents: [PageInEvent] = []
    /// The newest write of a page-in event to storage; each write waits for the one before,
    /// so an older event never lands in a slot after a newer one.
    var pageInsWrite: Task<Void, any Error>?
    /// The slot of the kept history the next page-in event is written to (the oldest's, once all are used).
    var nextPageInSlot = 0

    /// Opens the memory of the agent `namespace`: its blocks, summary and resident
    /// messages are restored from storage when it has run before.
    ///
    /// - Parameters:
    ///   - store: where memory is kept; the pager touches only `namespace` in it.
    ///   - model: the processor the agent runs on; its tokenizer and context length
    ///     define the budget.
    ///   - embedder: embeds messages, passages and queries; without one, search is
    ///     full-text only.
    ///   - summariser: the model that writes the recursive summary. Default: `model`.
    ///   - counters: where to count pages moved, if anywhere.
    public static func open(
        namespace: MemoryNamespace, store: MemoryStore, model: any LanguageModel, embedder: (any EmbeddingModel)?,
        summariser: (any LanguageModel)? = nil, configuration: PagerConfiguration, counters: PagingCounters? = nil
    ) async throws -> Pager {
        if let problem = configuration.problem { throw MemoryError.invalidConfiguration(problem) }
        if let embedder, embedder.dimensions != store.dimensions {
            throw MemoryError.invalidConfiguration(
                "the embedder makes \(embedder.dimensions)-dimensional vectors but the store holds \(store.dimensions)")
        }
        let pager = Pager(
            namespace: namespace, store: store, model: model, embedder: embedder, summariser: summariser ?? model,
            configuration: configuration, counters: counters)
        try await pager.restore()
        try await pager.checkFixedCostsFit()
        return pager
    }

    init(
        namespace: MemoryNamespace, store: MemoryStore, model: any LanguageModel, embedder: (any EmbeddingModel)?,
        summariser: any LanguageModel, configuration: PagerConfiguration, counters: PagingCounters?
    ) {
        self.namespace = namespace
        self.counters = counters
        self.configuration = configuration
        recall = store.recall(namespace)
        archival = store.archival(namespace)
        core = store.coreMemory(namespace)
        self.model = model
        self.embedder = embedder
        self.summariser = Summariser(model: summariser, counter: model, budget: configuration.summaryBudget)
        tools = MemoryFunctions.definitions
        window = ContextWindow(systemPrefix: configuration.systemPrefix, blocks: configuration.blocks)
    }

    /// The memory functions, to offer the model as tools and to execute its calls.
    public nonisolated var functions: MemoryFunctions { MemoryFunctions(pager: self) }

    /// Tools offered with every request: the memory functions plus `extra` (the kernel's
    /// other tools). Their definitions count against the context like everything else.
    public func offerTools(_ extra: [ToolDefinition]) async throws {
        tools = MemoryFunctions.definitions + extra.filter { tool in !MemoryFunctions.names.contains(tool.name) }
        try await checkFixedCostsFit()
        _ = try await enforceLimit()
    }

    // MARK: Budget

    var available: Int { model.info.contextLength - configuration.answerReserve }
    var residentLimit: Int { available - configuration.pageBudget }

    func residentTokens() async throws -> Int {
        try await model.countTokens(GenerationRequest(messages: window.render(pages: []), tools: tools))
    }

    /// Everything resident but the message queue: prefix, blocks, summary, tools.
    func fixedTokens() async throws -> Int {
        var empty = window
        empty.messages = []
        return try await model.countTokens(GenerationRequest(messages: empty.render(pages: []), tools: tools))
    }

    public func usage() async throws -> ContextUsage {
        ContextUsage(
            contextLength: model.info.contextLength, answerReserve: configuration.answerReserve,
            residentTokens: try await residentTokens(), residentLimit: residentLimit,
            summaryTokens: try await model.countTokens(text: window.summary), pageTokens: 0)
    }

    /// Prefix, tools, full blocks and a full summary must leave room for messages.
    func checkFixedCostsFit() async throws {
        var full = window
        full.messages = []
        full.summary = ""
        let empty = try await model.countTokens(GenerationRequest(messages: full.render(pages: []), tools: tools))
        let blockRoom = window.blocks.reduce(0) { $0 + $1.limit }
        let worst = empty + blockRoom + configuration.summaryBudget
        guard worst < residentLimit else {
            throw MemoryError.invalidConfiguration(
                "the prefix, tools, core memory limits (\(blockRoom)) and summary budget (\(configuration.summaryBudget)) "
                    + "take up to \(worst) tokens, but only \(residentLimit) of the \(model.info.contextLength)-token context "
                    + "remain after the answer reserve and page budget; shorten them or use a model with a larger context")
        }
    }

    /// Template tokens a message costs beyond its text (measured once).
    func overhead() async throws -> Int {
        if let messageOverhead { return messageOverhead }
        let base = try await model.countTokens(GenerationRequest(messages: [.system("x")]))
        let withOne = try await model.countTokens(GenerationRequest(messages: [.system("x"), .user("y")]))
        let text = try await model.countTokens(text: "y")
        let value = max(0, withOne - base - text)
        messageOverhead = value
        return value
    }

    func cost(_ message: ChatMessage) async throws -> Int {
        var text = message.content
        for call in message.toolCalls { text += " \(call.name) \(call.arguments.jsonText)" }
        return try await model.countTokens(text: text) + overhead()
    }

    // MARK: Messages

    /// Adds a message: written to recall storage (with its embedding) first, then made
    /// resident; evicts older messages if resident memory is past its limit.
    ///
    /// - Parameters:
    ///   - pinned: never evict this message.
    ///   - priority: for `EvictionPolicy.lowestPriorityFirst`; default 0.
    @discardableResult
    public func append(_ message: ChatMessage, pinned: Bool = false, priority: Int = 0, at date: Date = Date()) async throws
        -> AppendOutcome
    {
        let embedding = try await embedder?.embed(message.content)
        let entry = try await recall.append(message, at: date, embedding: embedding)
        clock += 1
        var resident = ResidentMessage(
            recallID: entry.id, message: message, pinned: pinned, priority: priority, lastUsed: clock,
            tokens: try await cost(message), truncated: false)
        // The newest `keepRecent` messages are never evicted, so each may take only a
        // share of the room for messages; a longer one is kept in context in part (all
        // of it is in recall storage).
        let room = max(16, (residentLimit - (try await fixedTokens())) / (configuration.keepRecent + 1))
        if resident.tokens > room && !message.content.isEmpty {
            resident = try await truncate(resident, to: room)
        }
        window.messages.append(resident)
        let evicted = try await enforceLimit()
        try await save()
        return AppendOutcome(recallID: entry.id, evicted: evicted, usage: try await usage())
    }

    func truncate(_ resident: ResidentMessage, to room: Int) async throws -> ResidentMessage {
        var r = resident
        let note = " […truncated; the whole message is conversation #\(r.recallID), find it with conversation_search]"
        var keep = r.message.content.count
        repeat {
            keep = max(1, Int(Double(keep) * Double(room) / Double(max(r.tokens, 1)) * 0.9))
            r.message.content = String(resident.message.content.prefix(keep)) + note
            r.tokens = try await cost(r.message)
        } while r.tokens > room && keep > 1
        r.truncated = true
        return r
    }

    /// Marks messages as used now, for `EvictionPolicy.leastRecentlyUsed`.
    public func touch(_ recallIDs: [Int64]) {
        clock += 1
        for i in window.messages.indices where recallIDs.contains(window.messages[i].recallID) {
            window.messages[i].lastUsed = clock
        }
    }
}
