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
    private let recall: RecallStore
    private let archival: ArchivalStore
    private let core: CoreMemoryStore
    private let model: any LanguageModel
    private let embedder: (any EmbeddingModel)?
    private let summariser: Summariser
    private var tools: [ToolDefinition]
    public private(set) var window: ContextWindow
    private var clock: UInt64 = 0
    private var messageOverhead: Int?
    private let counters: PagingCounters?
    /// The newest page-in decisions, newest last (at most `keptEvents`).
    public private(set) var pageInEvents: [PageInEvent] = []
    public static let keptEvents = 16

    /// What changes on every message, saved in one write. Page-in events ride along with
    /// the next message rather than costing a write of their own per generation.
    private struct SavedState: Codable {
        var summary: String
        var messages: [ResidentMessage]
        var clock: UInt64
        var pageIns: [PageInEvent]?
    }

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

    private init(
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

    private var available: Int { model.info.contextLength - configuration.answerReserve }
    private var residentLimit: Int { available - configuration.pageBudget }

    private func residentTokens() async throws -> Int {
        try await model.countTokens(GenerationRequest(messages: window.render(pages: []), tools: tools))
    }

    /// Everything resident but the message queue: prefix, blocks, summary, tools.
    private func fixedTokens() async throws -> Int {
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
    private func checkFixedCostsFit() async throws {
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
    private func overhead() async throws -> Int {
        if let messageOverhead { return messageOverhead }
        let base = try await model.countTokens(GenerationRequest(messages: [.system("x")]))
        let withOne = try await model.countTokens(GenerationRequest(messages: [.system("x"), .user("y")]))
        let text = try await model.countTokens(text: "y")
        let value = max(0, withOne - base - text)
        messageOverhead = value
        return value
    }

    private func cost(_ message: ChatMessage) async throws -> Int {
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

    private func truncate(_ resident: ResidentMessage, to room: Int) async throws -> ResidentMessage {
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

    /// Evicts until resident memory is at most the eviction target, if it is over the
    /// limit; returns the evicted recall ids.
    private func enforceLimit() async throws -> [Int64] {
        var total = try await residentTokens()
        guard total > residentLimit else { return [] }
        // The target is a share of the room for messages, not of the whole: prefix, tools
        // and blocks cannot be evicted.
        let fixed = try await fixedTokens()
        let target = fixed + Int(Double(max(0, residentLimit - fixed)) * configuration.evictionTarget)
        var evictedIDs: [Int64] = []
        while total > residentLimit {
            let units = evictionOrder()
            var chosen = Set<Int>()
            var projected = total
            for unit in units where projected > target {
                for index in unit { chosen.insert(index) }
                projected -= unit.reduce(0) { $0 + window.messages[$1].tokens }
            }
            guard !chosen.isEmpty else {
                throw MemoryError.doesNotFit(
                    "resident memory takes \(total) tokens of \(residentLimit), and what remains is pinned or among the "
                        + "\(configuration.keepRecent) newest messages; unpin messages, lower keepRecent, or use a larger context")
            }
            let evicted = window.messages.indices.filter(chosen.contains).map { window.messages[$0] }
            window.messages = window.messages.indices.filter { !chosen.contains($0) }.map { window.messages[$0] }
            evictedIDs += evicted.map(\.recallID)
            counters?.countOut(evicted.count)
            window.summary = await newSummary(evicted)
            total = try await residentTokens()
        }
        return evictedIDs
    }

    /// The summary after `evicted` leave the window. If the summariser fails, the old
    /// summary says where the messages went: they are in recall storage either way.
    private func newSummary(_ evicted: [ResidentMessage]) async -> String {
        do {
            return try await summariser.fold(summary: window.summary, evicted: evicted.map(\.message))
        } catch {
            let ids = evicted.map(\.recallID)
            let note =
                "(Messages #\(ids.min()!)–#\(ids.max()!) left memory unsummarised: \(error). "
                + "They are in recall storage; use conversation_search.)"
            let combined = window.summary.isEmpty ? note : window.summary + "\n" + note
            return (try? await summariser.fit(combined)) ?? window.summary
        }
    }

    /// Evictable units (an assistant's tool calls travel with their results), in the
    /// order the policy evicts them.
    private func evictionOrder() -> [[Int]] {
        let messages = window.messages
        let protectedFrom = max(0, messages.count - configuration.keepRecent)
        var units: [[Int]] = []
        var i = 0
        while i < protectedFrom {
            var unit = [i]
            if !messages[i].message.toolCalls.isEmpty {
                var j = i + 1
                while j < messages.count, messages[j].message.role == .tool {
                    unit.append(j)
                    j += 1
                }
            }
            i = unit.last! + 1
            if unit.last! >= protectedFrom || unit.contains(where: { messages[$0].pinned }) { continue }
            // A tool result whose call was already evicted is evicted on its own.
            units.append(unit)
        }
        func key(_ unit: [Int]) -> (Int, UInt64, Int) {
            let first = unit[0]
            switch configuration.policy {
            case .oldestFirst: return (0, 0, first)
            case .leastRecentlyUsed: return (0, unit.map { messages[$0].lastUsed }.max()!, first)
            case .lowestPriorityFirst: return (unit.map { messages[$0].priority }.max()!, 0, first)
            }
        }
        return units.sorted { key($0) < key($1) }
    }

    // MARK: Page-in

    /// Assembles the request for the next generation: pages in what `query` (default:
    /// the newest user message) needs from storage, within the page budget, and checks
    /// with the model's tokenizer that prompt plus answer reserve fit the context.
    ///
    /// - Parameters:
    ///   - query: what to look for; default the newest user message.
    ///   - queryEmbedding: the query's embedding if the caller has it (otherwise the
    ///     embedder computes it).
    ///   - sampling: how to sample; `maxTokens` is capped at what the context leaves.
    public func prepare(query: String? = nil, queryEmbedding: [Float]? = nil, sampling: SamplingParameters = .init())
        async throws -> PreparedContext
    {
        let text = query ?? window.messages.last(where: { $0.message.role == .user })?.message.content ?? ""
        var pages: [MemoryPage] = []
        if !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty && configuration.pageBudget > 0 {
            var embedding = queryEmbedding
            if embedding == nil, let embedder { embedding = try await embedder.embed(text) }
            touchMatching(text)
            pages = try await pageIn(text: text, embedding: embedding)
            counters?.countIn(pages.count)
        }
        let resident = try await residentTokens()
        let residentUsage = ContextUsage(
            contextLength: model.info.contextLength, answerReserve: configuration.answerReserve, residentTokens: resident,
            residentLimit: residentLimit, summaryTokens: try await model.countTokens(text: window.summary), pageTokens: 0)
        let warning: String? =
            residentUsage.fraction >= configuration.pressureFraction
            ? "Memory pressure: resident memory is \(Int(residentUsage.fraction * 100))% full. Older messages will soon "
                + "leave the context (they stay searchable). Save anything you must keep in view with core_memory_append, "
                + "or in long-term memory with archival_insert."
            : nil
        while true {
            let messages = window.render(pages: pages, note: warning)
            var request = GenerationRequest(messages: messages, tools: tools, sampling: sampling)
            let prompt = try await model.countTokens(request)
            if prompt <= available {
                let room = model.info.contextLength - prompt
                request.sampling.maxTokens = min(request.sampling.maxTokens ?? room, room)
                var usage = residentUsage
                usage.pageTokens = pages.reduce(0) { $0 + $1.tokens }
                return PreparedContext(request: request, promptTokens: prompt, pages: pages, usage: usage, pressureWarning: warning)
            }
            guard !pages.isEmpty else {
                throw MemoryError.doesNotFit(
                    "the prompt takes \(prompt) tokens but only \(available) may be used with \(configuration.answerReserve) "
                        + "reserved for the answer; lower the answer reserve or core memory limits")
            }
            pages.removeLast()
        }
    }

    private func touchMatching(_ query: String) {
        let words = Self.words(query)
        guard !words.isEmpty else { return }
        clock += 1
        for i in window.messages.indices where !Self.words(window.messages[i].message.content).isDisjoint(with: words) {
            window.messages[i].lastUsed = clock
        }
    }

    private static func words(_ text: String) -> Set<String> {
        Set(text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).filter { $0.count >= 4 }.map(String.init))
    }

    /// Ranked candidates from both stores, fused, filtered for relevance, and fitted to
    /// the page budget in rank order.
    private func pageIn(text: String, embedding: [Float]?) async throws -> [MemoryPage] {
        let resident = Set(window.messages.map(\.recallID))
        let k = configuration.pageCandidates
        let common = configuration.commonTermLimit
        var recallQuery = MemoryQuery(text: text, embedding: embedding, excluding: resident, limit: k, commonTermLimit: common)
        recallQuery.ranking = configuration.ranking
        var archivalQuery = MemoryQuery(text: text, embedding: embedding, limit: k, commonTermLimit: common)
        archivalQuery.ranking = configuration.ranking
        async let fromRecall = recall.search(recallQuery)
        async let fromArchival = archival.search(archivalQuery)
        let minimum = configuration.minimumSimilarity
        // Found by words, or through a name, date or second retrieval: relevant. Found by
        // meaning alone: only when similar enough.
        func relevant(_ textRank: Int?, _ similarity: Float?, _ reasons: RankingReasons) -> Bool {
            textRank != nil || (similarity ?? -1) >= minimum || !reasons.isDisjoint(with: [.entity, .date, .secondHop])
        }
        var candidates: [(page: MemoryPage, reasons: RankingReasons, relevant: Bool)] = []
        for hit in try await fromRecall.hits {
            candidates.append(
                (
                    MemoryPage(
                        source: .conversation, id: hit.item.id, text: hit.item.message.content, createdAt: hit.item.happenedAt,
                        label: hit.item.message.role.rawValue, score: hit.score, tokens: 0),
                    hit.reasons, relevant(hit.textRank, hit.similarity, hit.reasons)
                ))
        }
        for hit in try await fromArchival.hits {
            candidates.append(
                (
                    MemoryPage(
                        source: .archival, id: hit.item.id, text: hit.item.text, createdAt: hit.item.happenedAt,
                        label: hit.item.tags.joined(separator: ", "), score: hit.score, tokens: 0),
                    hit.reasons, relevant(hit.textRank, hit.similarity, hit.reasons)
                ))
        }
        candidates.sort {
            $0.page.score != $1.page.score
                ? $0.page.score > $1.page.score : ($0.page.source.rawValue, $0.page.id) < ($1.page.source.rawValue, $1.page.id)
        }
        let header = try await model.countTokens(text: ContextWindow.pagesText([]))
        var used = header
        var pages: [MemoryPage] = []
        var decisions: [PageInEvent.Decision] = []
        for var candidate in candidates {
            var outcome = PageInEvent.Outcome.notRelevant
            if candidate.relevant {
                candidate.page.tokens = try await model.countTokens(text: candidate.page.line) + 1
                if used + candidate.page.tokens <= configuration.pageBudget {
                    pages.append(candidate.page)
                    used += candidate.page.tokens
                    outcome = .paged
                } else {
                    outcome = .overBudget
                }
            }
            decisions.append(
                PageInEvent.Decision(
                    source: candidate.page.source.rawValue, id: candidate.page.id, score: candidate.page.score,
                    reasons: candidate.reasons.names, outcome: outcome, tokens: outcome == .paged ? candidate.page.tokens : 0))
        }
        record(PageInEvent(at: Date(), decisions: decisions), reasons: candidates.filter(\.relevant).map(\.reasons))
        return pages
    }

    /// Keeps a page-in event (the newest `keptEvents`) and counts it for metrics.
    private func record(_ event: PageInEvent, reasons: [RankingReasons]) {
        pageInEvents.append(event)
        if pageInEvents.count > Self.keptEvents { pageInEvents.removeFirst(pageInEvents.count - Self.keptEvents) }
        counters?.countEvent(event)
    }

    // MARK: Core memory (through the memory functions)

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

    private func editBlock(_ label: String, _ change: (String) -> String) async throws -> CoreMemoryBlock {
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
        var query = query
        if let text = query.text, query.embedding == nil, let embedder, !text.isEmpty {
            query.embedding = try await embedder.embed(text)
        }
        return try await recall.search(query)
    }

    func insertArchival(_ text: String, tags: [String]) async throws -> ArchivalPassage {
        let embedding = try await embedder?.embed(text)
        return try await archival.insert(text, tags: tags, embedding: embedding)
    }

    func searchArchival(_ query: MemoryQuery) async throws -> SearchPage<ArchivalPassage> {
        var query = query
        if let text = query.text, query.embedding == nil, let embedder, !text.isEmpty {
            query.embedding = try await embedder.embed(text)
        }
        return try await archival.search(query)
    }

    // MARK: Persistence

    private func save() async throws {
        try await core.setValue(
            SavedState(summary: window.summary, messages: window.messages, clock: clock, pageIns: pageInEvents), for: "context")
    }

    /// What an agent that is not running keeps in its window: summary and resident messages.
    static func savedWindow(in core: CoreMemoryStore) async throws -> (
        summary: String, messages: [ResidentMessage], pageIns: [PageInEvent]
    ) {
        let state = try await core.value("context", as: SavedState.self)
        return (state?.summary ?? "", state?.messages ?? [], state?.pageIns ?? [])
    }

    /// Removes erased messages from the saved window of an agent that is not running,
    /// so that no copy of their text stays behind in its core memory record.
    static func dropResident(_ ids: Set<Int64>, in core: CoreMemoryStore) async throws {
        guard var state = try await core.value("context", as: SavedState.self) else { return }
        let before = state.messages.count
        state.messages.removeAll { ids.contains($0.recallID) }
        if state.messages.count != before { try await core.setValue(state, for: "context") }
    }

    private func restore() async throws {
        if let blocks = try await core.value("blocks", as: [CoreMemoryBlock].self) {
            window.blocks = blocks
        } else {
            try await core.setValue(window.blocks, for: "blocks")
        }
        if let state = try await core.value("context", as: SavedState.self) {
            window.summary = state.summary
            window.messages = state.messages
            clock = state.clock
            pageInEvents = state.pageIns ?? []
        }
    }
}
