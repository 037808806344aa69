import AnimaProcessor
import Foundation

/// Where the KV states of preempted and suspended generations wait: in memory up to a
/// limit, then on disk, least recently run first (like pages of an idle process).
///
/// Used only on the decode thread. Files are private to the process (0600) and removed
/// as soon as their state is restored or discarded.
final class SwapSpace {
    final class Snapshot {
        enum Location {
            case memory([UInt8])
            case disk(URL)
        }

        let owner: UInt64
        let byteCount: Int
        let lastRun: UInt64
        fileprivate(set) var location: Location

        init(owner: UInt64, bytes: [UInt8], lastRun: UInt64) {
            self.owner = owner
            byteCount = bytes.count
            self.lastRun = lastRun
            location = .memory(bytes)
        }
    }

    struct Usage {
        var memoryBytes = 0
        var diskBytes = 0
        var swapOuts = 0
    }

    let memoryLimit: Int
    let directory: URL
    private var resident: [ObjectIdentifier: Snapshot] = [:]
    private var onDisk: [ObjectIdentifier: Snapshot] = [:]
    private(set) var usage = Usage()

    init(memoryLimit: Int, directory: URL) {
        self.memoryLimit = memoryLimit
        self.directory = directory
    }

    /// Keeps `bytes` for `owner`; may move older states to disk to stay under the limit.
    func store(_ bytes: [UInt8], for owner: UInt64, lastRun: UInt64) -> Snapshot {
        let snapshot = Snapshot(owner: owner, bytes: bytes, lastRun: lastRun)
        resident[ObjectIdentifier(snapshot)] = snapshot
        usage.memoryBytes += snapshot.byteCount
        while usage.memoryBytes > memoryLimit,
            let victim = resident.values.min(by: { ($0.lastRun, $0.owner) < ($1.lastRun, $1.owner) })
        {
            guard spill(victim) else { break }
        }
        return snapshot
    }

    /// The saved bytes, read back from disk if they were swapped out. Forgets the snapshot.
    func load(_ snapshot: Snapshot) throws -> [UInt8] {
        defer { discard(snapshot) }
        switch snapshot.location {
        case .memory(let bytes):
            return bytes
        case .disk(let url):
            do {
                let data = try Data(contentsOf: url)
                guard data.count == snapshot.byteCount else {
                    throw ProcessorError.engineFailure(
                        "the swapped KV state at \(url.path) is \(data.count) bytes, expected \(snapshot.byteCount)")
                }
                return [UInt8](data)
            } catch let error as ProcessorError {
                throw error
            } catch {
                throw ProcessorError.engineFailure("cannot read the swapped KV state at \(url.path): \(error.localizedDescription)")
            }
        }
    }

    func discard(_ snapshot: Snapshot) {
        let key = ObjectIdentifier(snapshot)
        if resident.removeValue(forKey: key) != nil { usage.memoryBytes -= snapshot.byteCount }
        if onDisk.removeValue(forKey: key) != nil, case .disk(let url) = snapshot.location {
            usage.diskBytes -= snapshot.byteCount
            try? FileManager.default.removeItem(at: url)
        }
    }

    func removeAll() {
        for snapshot in Array(resident.values) + Array(onDisk.values) { discard(snapshot) }
    }

    /// Writes a resident state to disk; false when that is impossible (it stays in memory).
    private func spill(_ snapshot: Snapshot) -> Bool {
        guard case .memory(let bytes) = snapshot.location else { return false }
        let url = directory.appendingPathComponent("anima-kv-\(getpid())-\(snapshot.owner)-\(UUID().uuidString).bin")
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            guard FileManager.default.createFile(atPath: url.path, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
                return false
            }
        } catch {
            return false
        }
        let key = ObjectIdentifier(snapshot)
        resident[key] = nil
        onDisk[key] = snapshot
        snapshot.location = .disk(url)
        usage.memoryBytes -= snapshot.byteCount
        usage.diskBytes += snapshot.byteCount
        usage.swapOuts += 1
        return true
    }
}
