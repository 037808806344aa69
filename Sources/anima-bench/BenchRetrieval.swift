import AnimaCommandSupport
import AnimaCore
import AnimaLlama
import AnimaMemory
import AnimaProcessor
import AnimaStorage
import ArgumentParser
import Foundation

/// Evidence recall of memory search on generated long conversations: Anima's search
/// against BM25 alone and dense (MiniLM) alone, in one run, on the same stores and
/// questions; optionally page-in latency over a store grown to a given size.
struct BenchRetrieval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retrieval",
        abstract: "Evidence recall@1/5/10 of memory search: Anima, the old fusion, BM25 alone, dense alone, on generated conversations.",
        discussion: """
            Generates --conversations multi-session conversations (fixed --seed) with planted
            facts, updates, dated events, two-fact questions and the assistant's wrong
            guesses; stores each in its own agent's recall memory with all-MiniLM-L6-v2
            embeddings; asks every question three ways. Recall@k is the share of a
            question's evidence turns among the first k results, averaged. With
            --page-in-records N, one store is then grown to N records and Pager.prepare is
            timed for conversation 0's questions (embeddings given), ranked and with the old
            fusion in turns: the ranker's cost is their ratio.

            Example:
              anima-bench memory retrieval --conversations 8 --sessions 10
            """)

    @Option(help: NumericFlag.help("Conversations (one agent each).", 1...1000), transform: NumericFlag.integer(1...1000))
    var conversations = 8
    @Option(help: NumericFlag.help("Sessions per conversation, a month apart.", 2...12), transform: NumericFlag.integer(2...12))
    var sessions = 10
    @Option(help: NumericFlag.help("The generator's seed.", 0...1_000_000_000), transform: NumericFlag.integer(0...1_000_000_000))
    var seed = 18
    @Option(help: "The embedding model (GGUF). Default: all-MiniLM-L6-v2 from `make setup`.") var embedder: String?
    @Option(
        help: NumericFlag.help("Grow one store to this many records and time page-in (0: skip).", 0...10_000_000),
        transform: NumericFlag.integer(0...10_000_000))
    var pageInRecords = 0
    @Option(help: "Write each question's lists and the turns here (JSON lines), for analysis.") var dump: String?
    @OptionGroup var modelOptions: ModelOptions

    mutating func run() async throws {
        let corpus = RetrievalCorpus.generate(conversations: conversations, sessions: sessions, seed: UInt64(seed))
        let embedding = try await LlamaEmbedder.load(.init(modelPath: embedder ?? AnimaPaths.defaultEmbedder))
        let dir = URL(fileURLWithPath: NSTemporaryDirectory() + "anima-retrieval-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try await MemoryStore.open(.directory(dir), key: .generate())
        let e0 = ContinuousClock.now
        var ids: [[Int64]] = []
        var turnCount = 0
        for (c, turns) in corpus.conversations.enumerated() {
            let vectors = try await embedding.embed(turns.map(\.text))
            let recall = store.recall(try MemoryNamespace(user: "bench", agent: "c\(c)"))
            let entries = try await recall.append(
                zip(turns, vectors).map {
                    NewRecallEntry(message: $0.fromUser ? .user($0.text) : .assistant($0.text), createdAt: $0.date, embedding: $1)
                })
            ids.append(entries.map(\.id))
            turnCount += turns.count
        }
        let questionVectors = try await embedding.embed(corpus.questions.map(\.text))
        let ingest = (ContinuousClock.now - e0) / .seconds(1)

        // "fusion" is the search before issue 18: reciprocal rank fusion of the two lists.
        let methods = ["anima", "fusion", "bm25", "dense"]
        let depths = [1, 5, 10]
        var sums: [String: [String: [Int: Double]]] = [:]
        var counts: [String: Int] = [:]
        var latencies: [String: [Double]] = [:]
        var dumpLines: [String] = []
        for (q, question) in corpus.questions.enumerated() {
            let recall = store.recall(try MemoryNamespace(user: "bench", agent: "c\(question.conversation)"))
            let evidence = Set(question.evidence.map { ids[question.conversation][$0] })
            counts[question.kind.rawValue, default: 0] += 1
            counts["all", default: 0] += 1
            var lists: [String: [Int64]] = [:]
            for method in methods {
                var query: MemoryQuery
                switch method {
                case "bm25": query = MemoryQuery(text: question.text, limit: 10)
                case "dense": query = MemoryQuery(embedding: questionVectors[q], limit: 10)
                default: query = MemoryQuery(text: question.text, embedding: questionVectors[q], limit: 10)
                }
                query.ranking = method == "anima" ? .ranked : .reciprocalRank
                let t0 = ContinuousClock.now
                let page = try await recall.search(query)
                latencies[method, default: []].append((ContinuousClock.now - t0) / .milliseconds(1))
                let found = page.hits.map(\.item.id)
                lists[method] = found
                for k in depths {
                    let hit = Double(found.prefix(k).filter(evidence.contains).count) / Double(evidence.count)
                    for group in ["all", question.kind.rawValue] { sums[method, default: [:]][group, default: [:]][k, default: 0] += hit }
                }
            }
            if dump != nil {
                var text = MemoryQuery(text: question.text, limit: 50)
                text.ranking = .reciprocalRank
                var vector = MemoryQuery(embedding: questionVectors[q], limit: 50)
                vector.ranking = .reciprocalRank
                let bm25 = try await recall.search(text)
                let dense = try await recall.search(vector)
                dumpLines.append(
                    Self.json([
                        "question": question.text, "kind": question.kind.rawValue, "conversation": question.conversation,
                        "evidence": Array(evidence), "anima": lists["anima"]!, "bm25": bm25.hits.map(\.item.id),
                        "dense": dense.hits.map { [$0.item.id, Double($0.similarity ?? 0)] as [Any] },
                    ]))
            }
        }
        if let dump {
            for (c, turns) in corpus.conversations.enumerated() {
                for turn in turns {
                    dumpLines.append(
                        Self.json([
                            "turn": ids[c][turn.index], "conversation": c, "user": turn.fromUser, "date": turn.date.timeIntervalSince1970,
                            "text": turn.text,
                        ]))
                }
            }
            try (dumpLines.joined(separator: "\n") + "\n").write(toFile: dump, atomically: true, encoding: .utf8)
        }
        var report: [String: Any] = [
            "conversations": conversations, "turns": turnCount, "questions": corpus.questions.count, "seed": seed,
            "ingest_seconds": ingest,
        ]
        for method in methods {
            var byGroup: [String: Any] = [:]
            for (group, perK) in sums[method]! {
                var row: [String: Any] = ["questions": counts[group]!]
                for k in depths { row["recall@\(k)"] = (perK[k]! / Double(counts[group]!) * 1000).rounded() / 1000 }
                byGroup[group] = row
            }
            let sorted = latencies[method]!.sorted()
            byGroup["search_p50_ms"] = BenchMemory.percentile(sorted, 0.5)
            report[method] = byGroup
        }
        if pageInRecords > 0 {
            report["page_in"] = try await pageIn(store: store, corpus: corpus, questionVectors: questionVectors, embedder: embedding)
        }
        try await store.close()
        BenchMemory.emit(report)
    }

    /// Grows conversation 0's store to `pageInRecords` with copies of the corpus's turns
    /// (their vectors slightly perturbed) and times `Pager.prepare` for its questions.
    private func pageIn(
        store: MemoryStore, corpus: RetrievalCorpus, questionVectors: [[Float]], embedder: LlamaEmbedder
    ) async throws -> [String: Any] {
        let namespace = try MemoryNamespace(user: "bench", agent: "c0")
        let turns = corpus.conversations.flatMap { $0 }
        let vectors = try await embedder.embed(turns.map(\.text))
        var rng = RetrievalCorpus.Generator(state: UInt64(seed) &+ 1)
        let have = try await store.recall(namespace).count()
        let f0 = ContinuousClock.now
        var added = have
        while added < pageInRecords {
            var batch: [NewRecallEntry] = []
            for _ in 0..<min(1000, pageInRecords - added) {
                let i = rng.below(turns.count)
                var v = vectors[i].map { $0 + Float(Int(rng.below(2001)) - 1000) / 20_000 }
                let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                v = v.map { $0 / norm }
                let date = turns[i].date.addingTimeInterval(Double(rng.below(30 * 86_400)))
                batch.append(
                    NewRecallEntry(
                        message: turns[i].fromUser ? .user(turns[i].text) : .assistant(turns[i].text), createdAt: date, embedding: v))
            }
            try await store.recall(namespace).append(batch)
            added += batch.count
        }
        let fill = (ContinuousClock.now - f0) / .seconds(1)
        var options = modelOptions
        if options.context == nil { options.context = 2048 }
        let engine = try await options.load(slots: 1)
        // The same page-ins, ranked and with the fusion before the ranker, in turns, so
        // that the ranker's cost is a ratio measured in the same run.
        var times: [SearchRanking: [Double]] = [:]
        var pagers: [SearchRanking: Pager] = [:]
        for ranking in SearchRanking.allCases {
            var configuration = PagerConfiguration(systemPrefix: "You are a helpful assistant with long-term memory.", pageBudget: 384)
            configuration.ranking = ranking
            pagers[ranking] = try await Pager.open(
                namespace: namespace, store: store, model: engine, embedder: nil, configuration: configuration)
        }
        let asked = corpus.questions.enumerated().filter { $0.element.conversation == 0 }
        for pager in pagers.values {
            _ = try await pager.prepare(query: asked[0].element.text, queryEmbedding: questionVectors[asked[0].offset])
        }
        for _ in 0..<max(1, 400 / asked.count) {
            for (q, question) in asked {
                for ranking in SearchRanking.allCases {
                    let t0 = ContinuousClock.now
                    _ = try await pagers[ranking]!.prepare(query: question.text, queryEmbedding: questionVectors[q])
                    times[ranking, default: []].append((ContinuousClock.now - t0) / .milliseconds(1))
                }
            }
        }
        let ranked = times[.ranked]!.sorted(), fused = times[.reciprocalRank]!.sorted()
        return [
            "records": try await store.recall(namespace).count(), "fill_seconds": fill, "prepares": ranked.count,
            "p50_ms": BenchMemory.percentile(ranked, 0.5), "p99_ms": BenchMemory.percentile(ranked, 0.99),
            "fusion_p50_ms": BenchMemory.percentile(fused, 0.5),
            "p50_vs_fusion": BenchMemory.percentile(ranked, 0.5) / BenchMemory.percentile(fused, 0.5),
        ]
    }

    static func json(_ object: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}
