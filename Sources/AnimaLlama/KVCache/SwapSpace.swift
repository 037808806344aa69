import AnimaProcessor
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where the KV states of preempted and suspended generations wait: in memory up to a
/// limit, then on disk.
///
/// What goes to disk is what will be wanted last: first the states of suspended
/// generations (they wait for a resume, not for a slot), then the state of the generation
/// that left its slot last. The policies that preempt give a slot back to the generation
/// that has waited longest (round robin; priority with aging), so the least recently run
/// state is the next one restored: spilling it, as a page cache's LRU would, writes out
/// exactly what the next slot reads straight back, every turn of the round.
///
/// Used only on the decode thread. Files are private to the process (0600, created
/// exclusively, never through a link) and removed as soon as their state is restored or
/// discarded; bytes go between the state and the file with no copy in between. The memory
/// of a restored or spilled state is kept for the next save (up to a quarter of the limit):
/// a state is tens of megabytes, and writing one into fresh pages cost more in page faults
/// (about 20 ms for 25 MB) than the copy itself.
final class SwapSpace {
    /// A state's bytes, in memory the swap space may reuse.
    final class Bytes {
        let capacity: Int
        let base: UnsafeMutablePointer<UInt8>
        var count = 0

        fileprivate init(capacity: Int) {
            self.capacity = capacity
            base = .allocate(capacity: max(1, capacity))
        }

        deinit { base.deallocate() }
    }

    final class Snapshot {
        enum Location {
            case memory(Bytes)
            case disk(URL)
        }

        let owner: UInt64
        let byteCount: Int
        let lastRun: UInt64
        /// True while its generation waits for a resume rather than for a slot.
        fileprivate(set) var parked: Bool
        fileprivate(set) var location: Location

        init(owner: UInt64, bytes: Bytes, lastRun: UInt64, parked: Bool) {
            self.owner = owner
            byteCount = bytes.count
            self.lastRun = lastRun
            self.parked = parked
            location = .memory(bytes)
        }

        /// Spilled before `other`: parked first, then the later to have run.
        fileprivate func spillsBefore(_ other: Snapshot) -> Bool {
            (parked ? 1 : 0, lastRun, owner) > (other.parked ? 1 : 0, other.lastRun, other.owner)
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
    private var spare: [Bytes] = []  // smallest first
    private(set) var usage = Usage()

    init(memoryLimit: Int, directory: URL) {
        self.memoryLimit = memoryLimit
        self.directory = directory
    }

    /// Memory for a state of `count` bytes: a spare one that fits, or new.
    func bytes(_ count: Int) -> Bytes {
        if let i = spare.firstIndex(where: { $0.capacity >= count }) {
            let reused = spare.remove(at: i)
            reused.count = count
            return reused
        }
        let fresh = Bytes(capacity: count + count / 8)  // room for the state to grow a little
        fresh.count = count
        return fresh
    }

    /// Takes back memory whose state is restored or on disk.
    func recycle(_ bytes: Bytes) {
        let i = spare.firstIndex { $0.capacity >= bytes.capacity } ?? spare.endIndex
        spare.insert(bytes, at: i)
        var kept = spare.reduce(0) { $0 + $1.capacity }
        while kept > memoryLimit / 4, !spare.isEmpty { kept -= spare.removeFirst().capacity }
    }

    /// Keeps `bytes` for `owner` (`parked`: its generation is suspended, not waiting for a
    /// slot); may move states to disk to stay under the limit.
    func store(_ bytes: Bytes, for owner: UInt64, lastRun: UInt64, parked: Bool = false) -> Snapshot {
        let snapshot = Snapshot(owner: owner, bytes: bytes, lastRun: lastRun, parked: parked)
        resident[ObjectIdentifier(snapshot)] = snapshot
        usage.memoryBytes += snapshot.byteCount
        while usage.memoryBytes > memoryLimit, let victim = resident.values.min(by: { $0.spillsBefore($1) }) {
            guard spill(victim) else { break }
        }
        return snapshot
    }

    /// Its generation was suspended (`parked`) or resumed (it waits for a slot again).
    func mark(_ snapshot: Snapshot, parked: Bool) {
        snapshot.parked = parked
    }

    /// The saved bytes, read back from disk if they were swapped out (`recycle` them once
    /// restored). Forgets the snapshot.
    func load(_ snapshot: Snapshot) throws -> Bytes {
        defer { forget(snapshot) }
        switch snapshot.location {
        case .memory(let bytes):
            return bytes
        case .disk(let url):
            return try read(url, count: snapshot.byteCount)
        }
    }

    func discard(_ snapshot: Snapshot) {
        if resident[ObjectIdentifier(snapshot)] != nil, case .memory(let bytes) = snapshot.location { recycle(bytes) }
        forget(snapshot)
    }

    private func forget(_ snapshot: Snapshot) {
        let key = ObjectIdentifier(snapshot)
        if resident.removeValue(forKey: key) != nil { usage.memoryBytes -= snapshot.byteCount }
        if onDisk.removeValue(forKey: key) != nil, case .disk(let url) = snapshot.location {
            usage.diskBytes -= snapshot.byteCount
            unlink(url.path)
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
        } catch {
            return false
        }
        guard Self.write(bytes, to: url) else { return false }
        recycle(bytes)
        let key = ObjectIdentifier(snapshot)
        resident[key] = nil
        onDisk[key] = snapshot
        snapshot.location = .disk(url)
        usage.memoryBytes -= snapshot.byteCount
        usage.diskBytes += snapshot.byteCount
        usage.swapOuts += 1
        return true
    }

    /// Writes all of `bytes` to a new file at `url`; on any failure nothing is left there.
    private static func write(_ bytes: Bytes, to url: URL) -> Bool {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return false }
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.base + done, bytes.count - done)
            if n > 0 {
                done += n
            } else if n < 0, errno == EINTR {
                continue
            } else {
                break
            }
        }
        let closed = close(fd) == 0
        guard done == bytes.count, closed else {
            unlink(url.path)
            return false
        }
        return true
    }

    /// The `count` bytes of the file at `url`, which must be exactly that long.
    private func read(_ url: URL, count: Int) throws -> Bytes {
        func failure(_ what: String) -> ProcessorError {
            .engineFailure("cannot read the swapped KV state at \(url.path): \(what)")
        }
        let fd = open(url.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw failure(String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure(String(cString: strerror(errno))) }
        guard Int(info.st_size) == count else {
            throw ProcessorError.engineFailure("the swapped KV state at \(url.path) is \(info.st_size) bytes, expected \(count)")
        }
        let bytes = self.bytes(count)
        var done = 0
        while done < count {
            let n = Glibc.read(fd, bytes.base + done, count - done)
            if n > 0 {
                done += n
            } else if n < 0, errno == EINTR {
                continue
            } else {
                let error = n < 0 ? String(cString: strerror(errno)) : "it ended after \(done) of \(count) bytes"
                recycle(bytes)
                throw failure(error)
            }
        }
        return bytes
    }
}
