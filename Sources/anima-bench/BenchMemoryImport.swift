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

                Example:
                  anima-bench memory import --count 2000 --rounds 3
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

        mutating func run() async throws {
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
                while start < passages.count {
                    let end = min(passages.count, start + batch)
                    let operation = MemoryOperation.insert(agent: "bench", passages: Array(passages[start..<end]))
                    guard
                        case .inserted(let ids) = try await kernel.invoke(
                            .memory(operation), as: Principal(name: "bench", groups: ["users"]))
                    else { throw ValidationError("the insert returned no ids") }
                    saved += ids.count
                    start = end
                }
                try await system.store.close()
                let imported = (ContinuousClock.now - t1) / .seconds(1)
                guard saved == texts.count else { throw ValidationError("imported \(saved) of \(texts.count) sentences") }
                let ratio = alone / imported
                ratios.append(ratio)
                BenchMemory.emit([
                    "round": round, "sentences": texts.count, "embedder_per_second": Double(texts.count) / alone,
                    "import_per_second": Double(texts.count) / imported, "ratio": ratio,
                ])
            }
            let sorted = ratios.sorted()
            BenchMemory.emit(["median_ratio": sorted[sorted.count / 2], "goal": 0.8])
        }
    }
}
