import AnimaLlama
import AnimaProcessor
import AnimaStorage
import Foundation
import Testing

/// all-MiniLM-L6-v2 as `make setup` converts it, and the numpy reference it writes.
/// Their absence fails the tests: they exist to run on the real model.
enum TestEmbedder {
    static var cache: String {
        let env = ProcessInfo.processInfo.environment
        return env["ANIMA_CACHE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.cache") + "/anima"
    }

    static var path: String { cache + "/models/all-MiniLM-L6-v2.F16.gguf" }
    static var referencePath: String { cache + "/models/all-MiniLM-L6-v2.reference.json" }

    static func requirePath() throws -> String {
        try #require(FileManager.default.fileExists(atPath: path), "the embedding model is missing at \(path); run `make setup`")
        return path
    }

    static let shared = Task<LlamaEmbedder, any Error> {
        try await LlamaEmbedder.load(.init(modelPath: try requirePath()))
    }

    static func embedder() async throws -> LlamaEmbedder { try await shared.value }
}

/// A fresh SQLite-backed store in a temporary directory.
struct TemporaryStore {
    let directory: URL
    let store: MemoryStore
    /// The store's key, to open it again.
    let key: EncryptionKey

    static func open(dimensions: Int = 384) async throws -> TemporaryStore {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("anima-memory-\(UUID().uuidString)")
        let key = EncryptionKey.generate()
        let store = try await MemoryStore.open(.directory(directory), key: key, dimensions: dimensions)
        return TemporaryStore(directory: directory, store: store, key: key)
    }

    func discard() { try? FileManager.default.removeItem(at: directory) }
}
