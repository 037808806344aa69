import AnimaCore
import Crypto
import Foundation
import GRDB
import Glibc

/// The vector graphs: loaded from their sealed snapshot and caught up from the database, saved durably.
extension SQLiteBackend {
    static let magic = Data("AHNSW001".utf8)

    func snapshotURL(_ key: IndexKey) -> URL {
        let digest = SHA256.hash(data: Data("\(key.namespace.user)\u{0}\(key.namespace.agent)\u{0}\(key.kind.rawValue)".utf8))
        let name = Hex.encode(digest.prefix(16))
        return vectorsDirectory.appendingPathComponent("\(name).hnsw")
    }

    func loadIndex(_ key: IndexKey, cipher: NamespaceCipher) throws -> LoadedIndex {
        try checkOpen()
        if let loaded = indexes[key] { return loaded }
        let url = snapshotURL(key)
        let loaded: LoadedIndex
        if let file = FileManager.default.contents(atPath: url.path) {
            guard file.count > Self.magic.count + 16, file.prefix(Self.magic.count) == Self.magic else {
                throw StorageError.corrupted("the vector index snapshot \(url.path)")
            }
            let plain = try cipher.open(file.dropFirst(Self.magic.count), context: "hnsw-\(key.kind.name)")
            let applied = plain.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }
            let erased = plain.dropFirst(8).prefix(8).withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }
            let index = try VectorIndex(serialized: plain.dropFirst(16), dimensions: dimensions, parameters: parameters)
            loaded = LoadedIndex(index: index, cipher: cipher, appliedThrough: applied, erasedThrough: erased)
        } else {
            loaded = LoadedIndex(
                index: try VectorIndex(dimensions: dimensions, parameters: parameters), cipher: cipher,
                appliedThrough: 0, erasedThrough: 0)
        }
        // Bring the graph up to date with what the database acknowledged after the snapshot.
        let ns = key.namespace
        let erasedThrough = loaded.erasedThrough, appliedThrough = loaded.appliedThrough
        let (erasures, pending): ([(Int64, Int64)], [(Int64, Data)]) = try database {
            try pool.read { db in
                let erasures = try Row.fetchAll(
                    db, sql: "SELECT seq, record_id FROM erasures WHERE user = ? AND agent = ? AND kind = ? AND seq > ? ORDER BY seq",
                    arguments: [ns.user, ns.agent, key.kind.rawValue, erasedThrough]
                ).map { ($0[0] as Int64, $0[1] as Int64) }
                let pending = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT id, sealed_vector FROM records WHERE user = ? AND agent = ? AND kind = ? AND id > ?
                        AND sealed_vector IS NOT NULL ORDER BY id
                        """,
                    arguments: [ns.user, ns.agent, key.kind.rawValue, appliedThrough]
                ).map { ($0[0] as Int64, $0[1] as Data) }
                return (erasures, pending)
            }
        }
        for (seq, id) in erasures {
            loaded.index.erase(UInt64(id))
            loaded.erasedThrough = seq
        }
        if !pending.isEmpty {
            var labels: [UInt64] = []
            var vectors: [Float] = []
            labels.reserveCapacity(pending.count)
            vectors.reserveCapacity(pending.count * dimensions)
            for (id, sealed) in pending {
                let vector = try cipher.openVector(sealed)
                guard vector.count == dimensions else { throw StorageError.corrupted("a stored vector of \(ns)") }
                labels.append(UInt64(id))
                vectors += vector
            }
            try loaded.index.add(contiguous: vectors, labels: labels, threads: ProcessInfo.processInfo.activeProcessorCount)
            loaded.appliedThrough = Int64(labels.last!)
            loaded.unsaved += labels.count
        }
        indexes[key] = loaded
        if loaded.unsaved >= snapshotInterval || !erasures.isEmpty { try saveSnapshot(key, loaded) }
        return loaded
    }

    /// Seals the graph and replaces the snapshot durably (`DurableFile`); then the erasure
    /// log it covers is no longer needed.
    func saveSnapshot(_ key: IndexKey, _ loaded: LoadedIndex) throws {
        var plain = Data(capacity: 16)
        withUnsafeBytes(of: loaded.appliedThrough) { plain.append(contentsOf: $0) }
        withUnsafeBytes(of: loaded.erasedThrough) { plain.append(contentsOf: $0) }
        plain.append(try loaded.index.serialized())
        let sealed = Self.magic + (try loaded.cipher.seal(plain, context: "hnsw-\(key.kind.name)"))
        do { try DurableFile.write(sealed, to: snapshotURL(key)) } catch { throw StorageError.vectorIndex(error.description) }
        loaded.unsaved = 0
        let ns = key.namespace
        let erasedThrough = loaded.erasedThrough
        try database {
            try pool.write { db in
                try db.execute(
                    sql: "DELETE FROM erasures WHERE user = ? AND agent = ? AND kind = ? AND seq <= ?",
                    arguments: [ns.user, ns.agent, key.kind.rawValue, erasedThrough])
            }
        }
    }
}
