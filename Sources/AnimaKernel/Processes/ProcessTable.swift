import AnimaCore

/// The kernel's process table: every process by PID, how many are alive, and the exited
/// ones kept (with their status) until `keptExited` newer ones have exited, so that a
/// long-running kernel's table does not grow without bound.
struct ProcessTable {
    private var records: [PID: ProcessRecord] = [:]
    /// Processes in the table that have not exited (counted, not scanned: spawn is hot).
    private(set) var alive = 0
    /// Exited processes still in the table, oldest first.
    private var exited = RecentQueue<PID>(capacity: keptExited)
    static let keptExited = 1024
    private var nextPID: UInt32 = 2

    subscript(pid: PID) -> ProcessRecord? { records[pid] }

    var values: Dictionary<PID, ProcessRecord>.Values { records.values }

    /// The PID the next process gets.
    mutating func newPID() -> PID {
        defer { nextPID += 1 }
        return PID(nextPID)
    }

    /// Adds a live process.
    mutating func insert(_ record: ProcessRecord) {
        records[record.pid] = record
        alive += 1
    }

    /// Counts `pid` as exited; the oldest exited process leaves the table when too many are kept.
    mutating func retire(_ pid: PID) {
        alive -= 1
        if let oldest = exited.append(pid), records[oldest]?.isAlive == false { records[oldest] = nil }
    }

    /// Removes an exited process.
    mutating func reap(_ pid: PID) {
        if records[pid]?.isAlive == false { records[pid] = nil }
    }
}
