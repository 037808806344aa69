import AnimaCore
import AnimaProcessor
import AnimaStorage
import Foundation

/// Page-in: what the next generation needs from storage, within the page budget, and
/// the decision recorded as an event.
extension Pager {
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
        var written: Task<Void, any Error>?
        if !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty && configuration.pageBudget > 0 {
            var embedding = queryEmbedding
            if embedding == nil, let embedder { embedding = try await embedder.embed(text) }
            touchMatching(text)
            pages = try await pageIn(text: text, embedding: embedding)
            counters?.countIn(pages.count)
            // The decision is stored before the generation it shapes; the write overlaps
            // the token counting below.
            written = persistPageIns()
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
                try await written?.value
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

    func touchMatching(_ query: String) {
        let words = Self.words(query)
        guard !words.isEmpty else { return }
        clock += 1
        for i in window.messages.indices where !Self.words(window.messages[i].message.content).isDisjoint(with: words) {
            window.messages[i].lastUsed = clock
        }
    }

    static func words(_ text: String) -> Set<String> {
        Set(text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).filter { $0.count >= 4 }.map(String.init))
    }

    /// Ranked candidates from both stores, fused, filtered for relevance, and fitted to
    /// the page budget in rank order.
    func pageIn(text: String, embedding: [Float]?) async throws -> [MemoryPage] {
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
        // Found by words, or through a name or date: relevant. Found by
        // meaning alone: only when similar enough.
        func relevant(_ textRank: Int?, _ similarity: Float?, _ reasons: RankingReasons) -> Bool {
            textRank != nil || (similarity ?? -1) >= minimum || !reasons.isDisjoint(with: [.entity, .date])
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

    /// Keeps a page-in event (the newest `configuration.pageInHistory`) and counts it for metrics.
    func record(_ event: PageInEvent, reasons: [RankingReasons]) {
        counters?.countEvent(event)
        let kept = configuration.pageInHistory
        pageInEvents.append(event)
        if pageInEvents.count > kept { pageInEvents.removeFirst(pageInEvents.count - kept) }
    }
}
