import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaLlama
import AnimaMemory
import AnimaServer
import AnimaStorage
import ArgumentParser
import Foundation

extension BenchMemory {
    /// `anima memory import`'s path (JSONL lines read as passages, the kernel's audited
    /// insert syscall in batches, embeddings computed per batch, one transaction each)
    /// against its anchor: the same embedder embedding the same sentences alone, in the
    /// same run, rounds alternating.
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import sentences as archival passages; report sentences/s against the embedder alone.",
            discussion: """
                Each round embeds the sentences with the embedder alone, then imports the same
                sentences (as JSONL lines) into a fresh data directory the way `anima memory import`
                does without a daemon. Prints one JSON line per round and the median ratio.

                With --searches N it also times N searches by words and meaning (each query
                embedded, as `anima memory search` does) once the first batch is in and again
                after the whole import: search latency as the store grows.

                Example:
                  anima-bench memory import --count 2000 --rounds 3
                  anima-bench memory import --count 100000 --rounds 1 --searches 200
                """)

        @Option(help: "Sentences, one per line (default: --count generated sentences).") var sentences: String?
        @Option(help: NumericFlag.help("Sentences to generate.", 1...1_000_000), transform: NumericFlag.integer(1...1_000_000))
        var count = 2000
        @Option(help: "The embedding model (GGUF). Default: all-MiniLM-L6-v2 from `make setup`.") var model: String?
        @Option(help: NumericFlag.help("Threads.", 1...4096), transform: NumericFlag.integer(1...4096)) var threads = ProcessInfo
            .processInfo.activeProcessorCount
        @Option(
            help: NumericFlag.help("Passages per batch (as anima memory import --batch).", 1...10_000),
            transform: NumericFlag.integer(1...10_000))
        var batch = 1000
        @Option(help: NumericFlag.help("Rounds; each measures both.", 1...100), transform: NumericFlag.integer(1...100)) var rounds = 3
        @Option(
            help: NumericFlag.help(
                "Searches to time (the kernel's memory search, query embedded) after the first batch and again after the whole import; 0: none.",
                0...10_000),
            transform: NumericFlag.integer(0...10_000))
        var searches = 0

        /// Deterministic sentences of varied words and length, about as long as chat turns.
        static func generated(_ count: Int) -> [String] {
            let subjects = ["Ada", "my sister", "the landlord", "our team", "the dentist", "Grandpa", "the new manager", "Lena"]
            let verbs = ["moved to", "booked a table in", "wrote about", "asked about", "visited", "complained about", "painted"]
            let objects = [
                "Porto", "the blue flat on the hill", "a quiet bakery", "the budget for next spring", "an old sailing boat",
                "the garden behind the library", "a theremin concert", "the broken heating",
            ]
            let tails = ["last Tuesday", "before the holidays", "because the rent went up", "with two friends", "in the rain", ""]
            var random = SplitMix64(seed: 18)
            return (0..<count).map { i in
                let parts = [
                    subjects.randomElement(using: &random)!, verbs.randomElement(using: &random)!, objects.randomElement(using: &random)!,
                    tails.randomElement(using: &random)!,
                ]
                return parts.filter { !$0.isEmpty }.joined(separator: " ") + " (note \(i))."
            }
        }

        /// Questions about the generated sentences, none of them stored verbatim.
        static func queries(_ count: Int) -> [String] {
            let asks = [
                "Who moved to Porto?", "what happened with the broken heating", "bakery visit in the rain",
                "the budget for next spring", "Lena and the sailing boat", "concert with the theremin",
                "complaints about the landlord", "where did Grandpa book a table", "garden behind the library",
                "rent went up", "what did the new manager write about", "the dentist before the holidays",
            ]
            return (0..<count).map { i in asks[i % asks.count] + (i < asks.count ? "" : " (\(i / asks.count))") }
        }

        /// Times each search through the kernel, in milliseconds, sorted.
        static func timeSearches(_ queries: [String], kernel: Kernel) async throws -> [Double] {
            var times: [Double] = []
            for query in queries {
                let t0 = ContinuousClock.now
                guard
                    case .records(let result) = try await kernel.invoke(
                        .memory(.search(MemorySearchRequest(text: query, agent: "bench", limit: 10))),
                        as: Principal(name: "bench", groups: ["users"]))
                else { throw ValidationError("the search returned no records") }
                times.append((ContinuousClock.now - t0) / .milliseconds(1))
                guard !result.records.isEmpty else { throw ValidationError("the search for \"\(query)\" found nothing") }
            }
            return times.sorted()
        }

        mutating func run() async throws {
            let questions = Self.queries(searches)
            let texts = try sentences.map(BenchMemory.readLines) ?? Self.generated(count)
            let lines = texts.map { JSONValue.object(JSONObject([("text", .string($0)), ("source", "import")])).jsonText }
            let embedder = try await LlamaEmbedder.load(.init(modelPath: model ?? AnimaPaths.defaultEmbedder, threads: threads))
            _ = try await embedder.embed(Array(texts.prefix(16)))
            var ratios: [Double] = []
            for round in 1...rounds {
                let t0 = ContinuousClock.now
                _ = try await embedder.embed(texts)
                let alone = (ContinuousClock.now - t0) / .seconds(1)

                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("anima-bench-import-\(UUID().uuidString)")
                defer { try? FileManager.default.removeItem(at: directory) }
                let t1 = ContinuousClock.now
                let system = try await MemoryLocation.open(directory, embedder: embedder)
                let kernel = Kernel(try .standard(processor: nil, memory: system, dataDirectory: directory.path))
                let passages = try lines.map { try MemoryWire.passage(try JSONValue(parsing: $0), defaultSource: .import) }
                var saved = 0
                var start = 0
                var searchedEarly: (passages: Int, ms: [Double])?
                var searchSeconds = 0.0
                while start < passages.count {
                    let end = min(passages.count, start + batch)
                    let operation = MemoryOperation.insert(agent: "bench", passages: Array(passages[start..<end]))
                    guard
                        case .inserted(let ids) = try await kernel.invoke(
                            .memory(operation), as: Principal(name: "bench", groups: ["users"]))
                    else { throw ValidationError("the insert returned no ids") }
                    saved += ids.count
                    start = end
                    if !questions.isEmpty && searchedEarly == nil {
                        // Not counted in the import's time.
                        let s0 = ContinuousClock.now
                        _ = try await Self.timeSearches(Array(questions.prefix(3)), kernel: kernel)  // warm-up
                        searchedEarly = (saved, try await Self.timeSearches(questions, kernel: kernel))
                        searchSeconds = (ContinuousClock.now - s0) / .seconds(1)
                    }
                }
                let imported = (ContinuousClock.now - t1) / .seconds(1) - searchSeconds
                let searchedLate = questions.isEmpty ? [] : try await Self.timeSearches(questions, kernel: kernel)
                try await system.store.close()
                guard saved == texts.count else { throw ValidationError("imported \(saved) of \(texts.count) sentences") }
                let ratio = alone / imported
                ratios.append(ratio)
                var row: [String: Any] = [
                    "round": round, "sentences": texts.count, "embedder_per_second": Double(texts.count) / alone,
                    "import_per_second": Double(texts.count) / imported, "ratio": ratio,
                ]
                if let early = searchedEarly {
                    let p = BenchMemory.percentile
                    row["search_first_passages"] = early.passages
                    row["search_first_p50_ms"] = p(early.ms, 0.5)
                    row["search_first_p99_ms"] = p(early.ms, 0.99)
                    row["search_all_p50_ms"] = p(searchedLate, 0.5)
                    row["search_all_p99_ms"] = p(searchedLate, 0.99)
                    row["search_p50_all_vs_first"] = p(searchedLate, 0.5) / p(early.ms, 0.5)
                    row["search_p99_all_vs_first"] = p(searchedLate, 0.99) / p(early.ms, 0.99)
                }
                BenchMemory.emit(row)
            }
            let sorted = ratios.sorted()
            BenchMemory.emit(["median_ratio": sorted[sorted.count / 2], "goal": 0.8])
        }
    }
}
