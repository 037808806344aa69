import AnimaCore
import AnimaLlama
import AnimaMemory
import AnimaProcessor
import AnimaServer
import AnimaStorage
import ArgumentParser
import Foundation

/// Where agents' memory lives and how to open it.
package struct MemoryLocation: ParsableArguments {
    package init() {}

    @Option(help: "Data directory (default: $XDG_DATA_HOME/anima).") package var dataDir: String?

    package var directory: URL {
        URL(fileURLWithPath: dataDir.map { ($0 as NSString).expandingTildeInPath } ?? AnimaDirectories.data())
    }

    /// A chosen data directory is hidden from sandboxes (MCP servers) like the default one.
    package func validate() throws {
        if let dataDir { AnimaDirectories.use(data: dataDir) }
    }

    /// The memory store (created on first use, with a new 0600 key file) and, when setup
    /// installed it, the local embedding model.
    package func open(embeddings: Bool) async throws -> MemorySystem {
        try await Self.open(directory, embedder: embeddings ? try await Self.installedEmbedder() : nil)
    }

    /// The local embedding model setup installs (memory and skill retrieval), or nil when
    /// it is not installed.
    package static func installedEmbedder() async throws -> LlamaEmbedder? {
        let path = AnimaPaths.defaultEmbedder
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try await LlamaEmbedder.load(.init(modelPath: path, threads: 1))
    }

    /// The memory store under data directory `directory`, its key in `memory.key` (0600).
    package static func open(_ directory: URL, embedder: (any EmbeddingModel)?) async throws -> MemorySystem {
        let memory = directory.appendingPathComponent("memory")
        try FileManager.default.createDirectory(at: memory, withIntermediateDirectories: true)
        let key = try EncryptionKey.loadOrCreate(at: directory.appendingPathComponent("memory.key").path, sealedData: memory.path)
        return MemorySystem(store: try await MemoryStore.open(.directory(memory), key: key), embedder: embedder)
    }
}
