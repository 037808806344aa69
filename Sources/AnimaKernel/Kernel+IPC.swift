import AnimaCore
import AnimaMemory
import AnimaProcessor
import AnimaSecurity
import Foundation

/// Messages between processes: waiting for one, with a timeout.
extension Kernel {
    func receive(for process: ProcessRecord, timeout: Duration?) async -> Message? {
        if let message = process.mailbox.take() { return message }
        let pid = process.pid
        let timer = timeout.map { limit in
            Task { [weak self, clock] in
                guard (try? await Self.sleep(clock, for: limit)) != nil else { return }
                await self?.wakeReceiver(pid)
            }
        }
        defer { timer?.cancel() }
        return await withCheckedContinuation { process.mailbox.park($0) }
    }

    func wakeReceiver(_ pid: PID) { table[pid]?.mailbox.wake() }
}
