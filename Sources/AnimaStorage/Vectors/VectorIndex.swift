import CHNSW
import Foundation

/// How the approximate-nearest-neighbour graph is built and searched (hnswlib's HNSW).
public struct VectorIndexParameters: Sendable, Hashable, Codable {
    /// Links per node: more is slower to build, larger, and more accurate. Default 16.
    public var m: Int
    /// Search breadth while building. Default 200.
    public var efConstruction: Int
    /// Search breadth while querying (at least the number of results asked for). Default 64.
    public var efSearch: Int
    /// Seed of the level generator, so builds are reproducible. Default 100.
    public var seed: Int

    public init(m: Int = 16, efConstruction: Int = 200, efSearch: Int = 64, seed: Int = 100) {
        self.m = m
        self.efConstruction = efConstruction
        self.efSearch = efSearch
        self.seed = seed
    }
}

/// An approximate-nearest-neighbour index of unit vectors under inner product: hnswlib's
/// HNSW graph behind the `CHNSW` shim. Distances are 1 - cosine similarity.
///
/// Not thread-safe: one owner (an actor, or one task) uses it at a time. Persistence is
/// the owner's business: `serialized()` gives the plaintext bytes in memory, and the
/// owner seals them before they touch a disk.
public final class VectorIndex {
    private let handle: OpaquePointer
    public let dimensions: Int
    public private(set) var parameters: VectorIndexParameters

    /// An empty index with room for `capacity` vectors (it grows as needed).
    public init(dimensions: Int, capacity: Int = 1024, parameters: VectorIndexParameters = .init()) throws(StorageError) {
        guard dimensions > 0 else { throw .invalidArgument("vector dimensions must be at least 1") }
        guard parameters.m >= 2, parameters.efConstruction >= 1, parameters.efSearch >= 1 else {
            throw .invalidArgument("index parameters need M >= 2, efConstruction >= 1, efSearch >= 1")
        }
        var error = [CChar](repeating: 0, count: 256)
        guard
            let handle = anima_hnsw_create(
                dimensions, max(capacity, 16), parameters.m, parameters.efConstruction, parameters.seed, &error, error.count)
        else { throw .vectorIndex(Self.text(error)) }
        self.handle = handle
        self.dimensions = dimensions
        self.parameters = parameters
        anima_hnsw_set_ef(handle, parameters.efSearch)
    }

    /// An index from bytes that `serialized()` produced.
    public init(serialized bytes: Data, dimensions: Int, parameters: VectorIndexParameters = .init()) throws(StorageError) {
        var error = [CChar](repeating: 0, count: 256)
        let handle = bytes.withUnsafeBytes { raw in
            anima_hnsw_deserialize(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, dimensions, 0, &error, error.count)
        }
        guard let handle else { throw .corrupted("a vector index snapshot (\(Self.text(error)))") }
        self.handle = handle
        self.dimensions = dimensions
        self.parameters = parameters
        anima_hnsw_set_ef(handle, parameters.efSearch)
    }

    deinit { anima_hnsw_free(handle) }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Live vectors.
    public var count: Int { anima_hnsw_count(handle) }
    /// Erased vectors whose (zeroed) nodes still route searches.
    public var erasedCount: Int { anima_hnsw_erased_count(handle) }

    /// Search breadth for later queries.
    public func setSearchBreadth(_ ef: Int) {
        parameters.efSearch = max(ef, 1)
        anima_hnsw_set_ef(handle, parameters.efSearch)
    }

    /// Adds `vector` under `label`, replacing any vector already there.
    public func add(_ vector: [Float], label: UInt64) throws(StorageError) {
        guard vector.count == dimensions else { throw .dimensionMismatch(expected: dimensions, got: vector.count) }
        var error = [CChar](repeating: 0, count: 256)
        guard anima_hnsw_add(handle, label, vector, &error, error.count) == 1 else {
            throw .vectorIndex(Self.text(error))
        }
    }

    /// Adds many vectors (`vectors` row-major, `labels.count` rows) on `threads` threads.
    public func add(contiguous vectors: [Float], labels: [UInt64], threads: Int) throws(StorageError) {
        guard vectors.count == labels.count * dimensions else {
            throw .invalidArgument("\(vectors.count) floats do not make \(labels.count) vectors of \(dimensions)")
        }
        var error = [CChar](repeating: 0, count: 256)
        guard anima_hnsw_add_batch(handle, labels, vectors, labels.count, max(threads, 1), &error, error.count) == 1 else {
            throw .vectorIndex(Self.text(error))
        }
    }

    /// Erases `label`'s vector (zeroed in place, never returned again). False when absent.
    @discardableResult
    public func erase(_ label: UInt64) -> Bool { anima_hnsw_erase(handle, label) == 1 }

    public func contains(_ label: UInt64) -> Bool { anima_hnsw_contains(handle, label) == 1 }

    /// The stored vector of a live label.
    public func vector(_ label: UInt64) -> [Float]? {
        var out = [Float](repeating: 0, count: dimensions)
        return anima_hnsw_vector(handle, label, &out) == 1 ? out : nil
    }

    /// The `k` nearest live vectors, closest first.
    public func search(_ query: [Float], k: Int) throws(StorageError) -> [(label: UInt64, distance: Float)] {
        guard query.count == dimensions else { throw .dimensionMismatch(expected: dimensions, got: query.count) }
        guard k > 0 else { return [] }
        var labels = [UInt64](repeating: 0, count: k)
        var distances = [Float](repeating: 0, count: k)
        var error = [CChar](repeating: 0, count: 256)
        let n = anima_hnsw_search(handle, query, k, &labels, &distances, &error, error.count)
        guard n >= 0 else { throw .vectorIndex(Self.text(error)) }
        return (0..<n).map { (labels[$0], distances[$0]) }
    }

    /// Searches into caller-provided buffers; for benchmarks that must not allocate.
    public func search(
        _ query: UnsafePointer<Float>, k: Int, labels: UnsafeMutablePointer<UInt64>, distances: UnsafeMutablePointer<Float>
    ) -> Int {
        anima_hnsw_search(handle, query, k, labels, distances, nil, 0)
    }

    /// The index's bytes, in memory. Seal them before writing them anywhere.
    public func serialized() throws(StorageError) -> Data {
        var bytes: UnsafeMutablePointer<UInt8>?
        var length = 0
        var error = [CChar](repeating: 0, count: 256)
        guard anima_hnsw_serialize(handle, &bytes, &length, &error, error.count) == 1, let bytes else {
            throw .vectorIndex(Self.text(error))
        }
        defer { anima_hnsw_free_bytes(bytes) }
        return Data(bytes: bytes, count: length)
    }
}
