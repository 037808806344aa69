import AnimaStorage
import Foundation
import Testing

/// `kill -9` in the middle of writing loses no acknowledged write and corrupts nothing:
/// a real writer process (`anima-bench memory write`) is killed repeatedly, at different
/// points (before and after its first vector-index snapshot), and the store it leaves is
/// reopened and checked record by record.
@Suite(.timeLimit(.minutes(5))) struct CrashSafetyTests {
    static var bench: URL {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let candidates = [
            Bundle.main.bundleURL.appendingPathComponent("anima-bench"),
            runner.deletingLastPathComponent().appendingPathComponent("anima-bench"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    /// The vector the writer gives its i-th record (see BenchMemory.Write).
    static func vector(_ i: Int, dimensions: Int) -> [Float] {
        let v = (0..<dimensions).map { j in Float(sin(Double(i * 31 + j))) }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / norm }
    }

    /// Runs the writer until it has acknowledged at least `acks` writes, then SIGKILLs
    /// it; returns every acknowledgement it printed: (sequence number, record id).
    static func writeAndKill(directory: URL, keyFile: URL, first: Int, acks: Int) throws -> [(Int, Int64)] {
        let log = directory.deletingLastPathComponent().appendingPathComponent("\(directory.lastPathComponent)-\(acks).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = bench
        process.arguments = [
            "memory", "write", "--directory", directory.path, "--key-file", keyFile.path,
            "--count", "1000000", "--first", String(first), "--dimensions", "16",
        ]
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        var lines: [Substring] = []
        while Date() < deadline && process.isRunning {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            lines = text.split(separator: "\n")
            if lines.count >= acks { break }
            Thread.sleep(forTimeInterval: 0.005)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "the writer must die by the signal, mid-run")
        let text = try String(contentsOf: log, encoding: .utf8)
        // A line cut off by the kill was never fully acknowledged.
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 3, parts[0] == "ack", let i = Int(parts[1]), let id = Int64(parts[2]) else { return nil }
            return (i, id)
        }
    }

    @Test func killNineMidWriteLosesNoAcknowledgedWrite() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("anima-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = root.appendingPathComponent("memory")
        let keyFile = root.appendingPathComponent("memory.key")
        var acknowledged: [(Int, Int64)] = []
        // Runs number their writes apart, so every vector is distinct.
        for (run, acks) in [150, 2300, 60].enumerated() {
            let got = try Self.writeAndKill(directory: directory, keyFile: keyFile, first: run * 1_000_000, acks: acks)
            #expect(got.count >= acks, "run \(run) acknowledged only \(got.count)")
            acknowledged += got
            let store = try await MemoryStore.open(
                .directory(directory), key: try EncryptionKey.loadOrCreate(at: keyFile.path), dimensions: 16)
            let namespace = try MemoryNamespace(user: "bench", agent: "writer")
            let recallIDs = acknowledged.filter { $0.0 % 2 == 0 }.map(\.1)
            let archivalIDs = acknowledged.filter { $0.0 % 2 == 1 }.map(\.1)
            let recalled = try await store.recall(namespace).entries(recallIDs)
            let passages = try await store.archival(namespace).passages(archivalIDs)
            #expect(recalled.count == recallIDs.count, "run \(run): lost recall writes")
            #expect(passages.count == archivalIDs.count, "run \(run): lost archival writes")
            let byID = Dictionary(uniqueKeysWithValues: acknowledged.map { ($0.1, $0.0) })
            for entry in recalled {
                #expect(entry.message.content.hasPrefix("Durable message \(byID[entry.id]!):"))
            }
            // The vector index agrees with the database: each of the latest acknowledged
            // writes is its own nearest neighbour, and full text still finds records.
            for (i, id) in got.suffix(20) {
                let query = MemoryQuery(embedding: Self.vector(i, dimensions: 16), limit: 1)
                let nearest =
                    i % 2 == 0
                    ? try await store.recall(namespace).search(query).hits.first?.item.id
                    : try await store.archival(namespace).search(query).hits.first?.item.id
                #expect(nearest == id, "run \(run): record \(id) is not found by its own vector")
            }
            #expect(try await store.archival(namespace).search(MemoryQuery(text: "quick brown fox")).hits.count == 10)
            try await store.close()
        }
    }
}
