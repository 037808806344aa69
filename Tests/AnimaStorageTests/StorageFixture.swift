import AnimaStorage
import Foundation
import Testing

/// The backends every storage test runs against: one suite, written once.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// A store opened on a fresh place for one test, with the means to reopen it.
struct StorageFixture {
    let backend: Backend
    let location: MemoryStore.Location
    /// Where the bytes land on disk: the SQLite directory, or the test server's data directory.
    let dataDirectory: URL
    let key: EncryptionKey
    var store: MemoryStore

    static let dimensions = 8

    static func open(_ backend: Backend, key: EncryptionKey = .generate()) async throws -> StorageFixture {
        switch backend {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("anima-storage-\(UUID().uuidString)")
            let location = MemoryStore.Location.directory(directory)
            let store = try await MemoryStore.open(location, key: key, dimensions: dimensions)
            return StorageFixture(backend: backend, location: location, dataDirectory: directory, key: key, store: store)
        case .postgres:
            let location = MemoryStore.Location.postgres(try await TestPostgres.freshLocation())
            let store = try await MemoryStore.open(location, key: key, dimensions: dimensions)
            let server = try await TestPostgres.server()
            return StorageFixture(
                backend: backend, location: location, dataDirectory: URL(fileURLWithPath: server.dataDirectory), key: key,
                store: store)
        }
    }

    mutating func reopen() async throws {
        try await store.close()
        store = try await MemoryStore.open(location, key: key, dimensions: Self.dimensions)
    }

    /// Removes what the test wrote (the server's databases go with the server).
    func discard() {
        if backend == .sqlite { try? FileManager.default.removeItem(at: dataDirectory) }
    }

    /// Makes everything written reach the data files before they are scanned.
    func flush() async throws {
        if backend == .postgres { try await TestPostgres.checkpoint() }
    }

    /// Every data file that contains `needle` (as UTF-8 bytes).
    func filesContaining(_ needle: String) throws -> [String] {
        try filesContaining(bytes: Data(needle.utf8))
    }

    func filesContaining(bytes: Data) throws -> [String] {
        var hits: [String] = []
        let files = FileManager.default.enumerator(at: dataDirectory, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = files?.nextObject() as? URL {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true,
                let data = try? Data(contentsOf: url)
            else { continue }
            if data.range(of: bytes) != nil { hits.append(url.path) }
        }
        return hits
    }
}

/// A deterministic unit vector pointing mostly along `axis`, for tests that need known
/// nearest neighbours without an embedding model.
func unitVector(axis: Int, tilt: Float = 0, dimensions: Int = StorageFixture.dimensions) -> [Float] {
    var v = [Float](repeating: 0, count: dimensions)
    v[axis % dimensions] = 1
    v[(axis + 1) % dimensions] = tilt
    let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return v.map { $0 / norm }
}
