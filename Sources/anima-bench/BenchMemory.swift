import AnimaCommandSupport
import AnimaCore
import AnimaLlama
import AnimaMemory
import AnimaProcessor
import AnimaStorage
import ArgumentParser
import Foundation

/// Benchmarks of the memory subsystem. scripts/bench-memory.sh runs them beside their
/// references (hnswlib's Python package, llama.cpp's llama-embedding) in the same run.
struct BenchMemory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Measure the memory subsystem: vector index, page-in, embedding, durable writes.",
        subcommands: [Index.self, PageIn.self, Embed.self, Write.self, Import.self, BenchRetrieval.self])

    /// Reads a file of little-endian float32 rows.
    static func readVectors(_ path: String, dimensions: Int) throws -> [Float] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        guard data.count % (4 * dimensions) == 0 else {
            throw ValidationError("\(path) holds \(data.count) bytes, not a whole number of \(dimensions)-float rows")
        }
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    static func readLines(_ path: String) throws -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read \(path)") }
        return text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }

    static func emit(_ object: [String: Any]) {
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    struct Index: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build the archival HNSW index over a vector file; measure recall@k and queries/s.",
            discussion: """
                Vectors, queries and exact neighbours come from files (float32 rows, int32
                rows of --k ids), so the same data can be given to hnswlib's Python package.
                Queries run one at a time on one thread. Prints one JSON line per --ef.

                Example:
                  anima-bench memory index --vectors base.f32 --queries q.f32 --truth truth.i32 --ef 32,64,128
                """)

        @Option(help: "Base vectors (float32 rows).") var vectors: String
        @Option(help: "Query vectors (float32 rows).") var queries: String
        @Option(help: "Exact nearest neighbours of each query (int32 rows of k ids).") var truth: String
        @Option(help: NumericFlag.help("Vector width.", 1...65_536), transform: NumericFlag.integer(1...65_536)) var dimensions = 384
        @Option(help: NumericFlag.help("Neighbours to return and score.", 1...10_000), transform: NumericFlag.integer(1...10_000)) var k =
            10
        @Option(help: NumericFlag.help("HNSW links per node.", 2...1024), transform: NumericFlag.integer(2...1024)) var m = 16
        @Option(help: NumericFlag.help("HNSW build breadth.", 1...100_000), transform: NumericFlag.integer(1...100_000))
        var efConstruction = 200
        @Option(
            help: NumericFlag.help("Search breadths to measure, comma-separated.", 1...100_000),
            transform: NumericFlag.integers(1...100_000)) var ef: [Int] = [64]
        @Option(help: NumericFlag.help("Build threads.", 1...4096), transform: NumericFlag.integer(1...4096)) var threads = ProcessInfo
            .processInfo.activeProcessorCount
        @Option(help: NumericFlag.help("Query passes per --ef; the best is reported.", 1...1000), transform: NumericFlag.integer(1...1000))
        var repetitions = 3

        mutating func run() async throws {
            let base = try BenchMemory.readVectors(vectors, dimensions: dimensions)
            let query = try BenchMemory.readVectors(queries, dimensions: dimensions)
            let n = base.count / dimensions, q = query.count / dimensions
            guard let truthData = FileManager.default.contents(atPath: truth), truthData.count == q * k * 4 else {
                throw ValidationError("\(truth) must hold \(q) rows of \(k) int32 ids")
            }
            let exact = truthData.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
            let index = try VectorIndex(
                dimensions: dimensions, capacity: n, parameters: VectorIndexParameters(m: m, efConstruction: efConstruction))
            let start = ContinuousClock.now
            try index.add(contiguous: base, labels: (0..<n).map(UInt64.init), threads: threads)
            let build = (ContinuousClock.now - start) / .seconds(1)
            var labels = [UInt64](repeating: 0, count: q * k)
            var distances = [Float](repeating: 0, count: q * k)
            for e in ef {
                index.setSearchBreadth(e)
                var best = Double.infinity
                for _ in 0..<repetitions {
                    let t0 = ContinuousClock.now
                    query.withUnsafeBufferPointer { qp in
                        labels.withUnsafeMutableBufferPointer { lp in
                            distances.withUnsafeMutableBufferPointer { dp in
                                for i in 0..<q {
                                    _ = index.search(
                                        qp.baseAddress! + i * dimensions, k: k, labels: lp.baseAddress! + i * k,
                                        distances: dp.baseAddress! + i * k)
                                }
                            }
                        }
                    }
                    best = min(best, (ContinuousClock.now - t0) / .seconds(1))
                }
                var hits = 0
                for i in 0..<q {
                    let truthRow = Set(exact[(i * k)..<(i * k + k)].map { UInt64($0) })
                    hits += labels[(i * k)..<(i * k + k)].filter { truthRow.contains($0) }.count
                }
                BenchMemory.emit([
                    "impl": "anima", "n": n, "queries": q, "k": k, "m": m, "ef_construction": efConstruction, "ef": e,
                    "build_seconds": build, "qps": Double(q) / best, "recall": Double(hits) / Double(q * k),
                ])
            }
        }
    }

    struct Embed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Embed a file of sentences (one per line) and report sentences per second.",
            discussion: "Example:\n  anima-bench memory embed --sentences sentences.txt")

        @Option(help: "Sentences, one per line.") var sentences: String
        @Option(help: "The embedding model (GGUF). Default: all-MiniLM-L6-v2 from `make setup`.") var model: String?
        @Option(help: NumericFlag.help("Tokens per encode call.", 1...1_000_000), transform: NumericFlag.integer(1...1_000_000))
        var batchTokens = 512
        @Option(help: NumericFlag.help("Threads.", 1...4096), transform: NumericFlag.integer(1...4096)) var threads = ProcessInfo
            .processInfo.activeProcessorCount
        @Option(help: NumericFlag.help("Passes; the best is reported.", 1...1000), transform: NumericFlag.integer(1...1000))
        var repetitions = 3
        @Option(help: "Write the vectors here (float32 rows), for the other benchmarks.") var output: String?

        mutating func run() async throws {
            let texts = try BenchMemory.readLines(sentences)
            let path = model ?? AnimaPaths.defaultEmbedder
            let embedder = try await LlamaEmbedder.load(.init(modelPath: path, batchTokens: batchTokens, threads: threads))
            _ = try await embedder.embed(Array(texts.prefix(16)))
            var best = Double.infinity
            for _ in 0..<repetitions {
                let t0 = ContinuousClock.now
                let vectors = try await embedder.embed(texts)
                best = min(best, (ContinuousClock.now - t0) / .seconds(1))
                if let output {
                    let flat = vectors.flatMap { $0 }
                    try flat.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: URL(fileURLWithPath: output))
                }
            }
            BenchMemory.emit(["impl": "anima", "sentences": texts.count, "seconds": best, "per_second": Double(texts.count) / best])
        }
    }

    struct PageIn: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "page-in",
            abstract: "Page-in latency (retrieval plus context assembly, embedding excluded) over a large memory.",
            discussion: """
                Fills a fresh encrypted SQLite store with --memories items (half recall messages,
                half archival passages) from a sentence file and its embeddings, then times
                Pager.prepare for --queries held-out sentences with their embeddings given.
                The anchor, timed in the same run, is what a store without an index must do:
                an exact scan of every stored vector for each query.

                Example:
                  anima-bench memory page-in --sentences s.txt --vectors s.f32 --memories 100000
                """)

        @Option(help: "Sentences, one per line.") var sentences: String
        @Option(help: "Their embeddings (float32 rows, same order).") var vectors: String
        @Option(help: NumericFlag.help("Memories to store.", 1...100_000_000), transform: NumericFlag.integer(1...100_000_000))
        var memories = 100_000
        @Option(
            help: NumericFlag.help("Queries to time (taken after the memories in the files).", 1...10_000_000),
            transform: NumericFlag.integer(1...10_000_000)) var queries = 500
        @Option(
            help:
                "Directory for the store, kept with its key; a second run reuses it unfilled (default: a temporary one, removed afterwards)."
        ) var directory: String?
        @OptionGroup var modelOptions: ModelOptions

        mutating func run() async throws {
            let texts = try BenchMemory.readLines(sentences)
            let all = try BenchMemory.readVectors(vectors, dimensions: 384)
            guard texts.count >= memories + queries, all.count / 384 >= memories + queries else {
                throw ValidationError("need \(memories + queries) sentences and vectors, have \(texts.count) and \(all.count / 384)")
            }
            let dir = URL(fileURLWithPath: directory ?? NSTemporaryDirectory() + "anima-pagein-\(UUID().uuidString)")
            defer { if directory == nil { try? FileManager.default.removeItem(at: dir) } }
            // A kept directory holds its key, so a second run measures the same store
            // without filling it again.
            let keyPath = dir.appendingPathComponent("bench.key").path
            let filled = directory != nil && FileManager.default.fileExists(atPath: keyPath)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let key = directory == nil ? EncryptionKey.generate() : try EncryptionKey.loadOrCreate(at: keyPath)
            let store = try await MemoryStore.open(.directory(dir), key: key)
            let namespace = try MemoryNamespace(user: "bench", agent: "pagein")
            func vector(_ i: Int) -> [Float] { Array(all[(i * 384)..<(i * 384 + 384)]) }
            let t0 = ContinuousClock.now
            let start = Date(timeIntervalSince1970: 1_700_000_000)
            for chunk in stride(from: 0, to: filled ? 0 : memories, by: 1000) {
                let range = chunk..<min(memories, chunk + 1000)
                let half = range.filter { $0 % 2 == 0 }, other = range.filter { $0 % 2 == 1 }
                try await store.recall(namespace).append(
                    half.map {
                        NewRecallEntry(message: .user(texts[$0]), createdAt: start.addingTimeInterval(Double($0)), embedding: vector($0))
                    })
                try await store.archival(namespace).insert(
                    other.map {
                        NewArchivalPassage(
                            text: texts[$0], tags: ["bench"], createdAt: start.addingTimeInterval(Double($0)), embedding: vector($0))
                    })
            }
            let fill = (ContinuousClock.now - t0) / .seconds(1)
            // The alternative to blinded terms in FTS5 is an in-memory index rebuilt at every
            // start; reading and decrypting every record is the least that would cost.
            let d0 = ContinuousClock.now
            var read = 0
            for offset in stride(from: 0, to: memories, by: 1000) {
                read += try await store.recall(namespace).list(MemoryQuery(limit: 1000, offset: offset)).count
                read += try await store.archival(namespace).search(MemoryQuery(limit: 1000, offset: offset)).hits.count
            }
            precondition(read >= memories)  // a reused store also holds earlier runs' few conversation turns
            let decryptAll = (ContinuousClock.now - d0) / .seconds(1)
            var textSearches: [Double] = []
            for i in memories..<(memories + min(queries, 200)) {
                let s0 = ContinuousClock.now
                _ = try await store.recall(namespace).search(MemoryQuery(text: texts[i], limit: 8))
                textSearches.append((ContinuousClock.now - s0) / .milliseconds(1))
            }
            textSearches.sort()
            var options = modelOptions
            if options.context == nil { options.context = 2048 }
            let engine = try await options.load(slots: 1)
            let pager = try await Pager.open(
                namespace: namespace, store: store, model: engine, embedder: nil,
                configuration: PagerConfiguration(systemPrefix: "You are a helpful assistant with long-term memory.", pageBudget: 384))
            for i in 0..<6 { try await pager.append(i % 2 == 0 ? .user("Hello again, turn \(i).") : .assistant("Hi! Turn \(i).")) }
            // Warm-up: load the vector indexes and the tokenizer's caches.
            _ = try await pager.prepare(query: texts[memories], queryEmbedding: vector(memories))
            var latencies: [Double] = []
            var pages = 0
            for i in memories..<(memories + queries) {
                let q0 = ContinuousClock.now
                let prepared = try await pager.prepare(query: texts[i], queryEmbedding: vector(i))
                latencies.append((ContinuousClock.now - q0) / .milliseconds(1))
                pages += prepared.pages.count
            }
            // The anchor: an exact scan over every stored vector, per query.
            var scans: [Double] = []
            let stored = memories * 384
            for i in memories..<(memories + min(queries, 100)) {
                let q = vector(i)
                let s0 = ContinuousClock.now
                var best: (Float, Int) = (-2, -1)
                all.withUnsafeBufferPointer { p in
                    var row = 0
                    while row * 384 < stored {
                        var dot: Float = 0
                        for j in 0..<384 { dot += p[row * 384 + j] * q[j] }
                        if dot > best.0 { best = (dot, row) }
                        row += 1
                    }
                }
                scans.append((ContinuousClock.now - s0) / .milliseconds(1))
                precondition(best.1 >= 0)
            }
            latencies.sort()
            scans.sort()
            try await store.close()
            BenchMemory.emit([
                "memories": memories, "queries": queries, "fill_seconds": filled ? 0 : fill, "decrypt_all_seconds": decryptAll,
                "blind_text_search_p50_ms": BenchMemory.percentile(textSearches, 0.5),
                "p50_ms": BenchMemory.percentile(latencies, 0.5), "p99_ms": BenchMemory.percentile(latencies, 0.99),
                "mean_pages": Double(pages) / Double(queries),
                "scan_p50_ms": BenchMemory.percentile(scans, 0.5),
                "p50_vs_scan": BenchMemory.percentile(latencies, 0.5) / BenchMemory.percentile(scans, 0.5),
            ])
        }
    }

    struct Write: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Durable write throughput: messages with embeddings into a store, one transaction each.",
            discussion: """
                Prints "ack ID" after each write is acknowledged (committed), then a JSON summary.
                The crash-safety test kills this with SIGKILL mid-run and checks every
                acknowledged write survived.

                Example:
                  anima-bench memory write --directory /tmp/mem --count 1000 --key-file /tmp/mem.key
                """)

        @Option(help: "The store's directory.") var directory: String
        @Option(help: "The key file (created 0600 if missing).") var keyFile: String
        @Option(help: NumericFlag.help("Messages to write.", 1...100_000_000), transform: NumericFlag.integer(1...100_000_000)) var count =
            1000
        @Option(
            help: NumericFlag.help("Sequence number of the first message (its text and vector derive from it).", 0...1_000_000_000),
            transform: NumericFlag.integer(0...1_000_000_000)) var first = 0
        @Option(help: NumericFlag.help("Vector width.", 1...65_536), transform: NumericFlag.integer(1...65_536)) var dimensions = 384

        mutating func run() async throws {
            let key = try EncryptionKey.loadOrCreate(at: keyFile)
            let store = try await MemoryStore.open(.directory(URL(fileURLWithPath: directory)), key: key, dimensions: dimensions)
            let recall = store.recall(try MemoryNamespace(user: "bench", agent: "writer"))
            let archival = store.archival(try MemoryNamespace(user: "bench", agent: "writer"))
            let t0 = ContinuousClock.now
            for i in first..<(first + count) {
                var v = (0..<dimensions).map { j in Float(sin(Double(i * 31 + j))) }
                let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                v = v.map { $0 / norm }
                let text = "Durable message \(i): the quick brown fox \(i % 97) jumps."
                let id =
                    i % 2 == 0
                    ? try await recall.append(.user(text), embedding: v).id
                    : try await archival.insert(text, tags: ["t\(i % 5)"], embedding: v).id
                // Unbuffered: an acknowledgement printed is one the killer may count.
                FileHandle.standardOutput.write(Data("ack \(i) \(id)\n".utf8))
            }
            let seconds = (ContinuousClock.now - t0) / .seconds(1)
            try await store.close()
            BenchMemory.emit(["writes": count, "seconds": seconds, "per_second": Double(count) / seconds])
        }
    }
}
