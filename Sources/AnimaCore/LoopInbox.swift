import Foundation

/// The inbox of a loop that owns its thread (see `DedicatedThread.detach`): any thread posts
/// messages; the loop takes all of them at once between its steps.
///
/// A serial executor runs one job at a time; a batching loop (the decode loop, the embedder)
/// instead wants everything that arrived during its last step, so it can decode or encode it
/// together. This is that hand-over, and the stop handshake: `stop()` refuses new messages,
/// wakes the loop and waits until the loop says it has `finished()`.
public final class LoopInbox<Message>: @unchecked Sendable {
    private let condition = NSCondition()
    private var messages: [Message] = []
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    public init() {}

    /// Posts `message` for the loop's next step. Returns false, keeping nothing, once the
    /// loop is stopping: the caller then fails the message itself.
    public func post(_ message: Message) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return false }
        messages.append(message)
        condition.signal()
        return true
    }

    /// Takes every message posted since the last call, in order; with `wait`, first waits
    /// until there is one or `stop()` was called. `stop` is true once the loop must end: it
    /// then fails what it holds and calls `finished()`.
    public func take(wait: Bool) -> (messages: [Message], stop: Bool) {
        condition.lock()
        defer { condition.unlock() }
        while wait && messages.isEmpty && !stopping { condition.wait() }
        let taken = messages
        messages.removeAll()
        return (taken, stopping)
    }

    /// Asks the loop to end and waits until it has called `finished()`. Later calls (from
    /// any thread) return at once.
    public func stop() {
        condition.lock()
        let already = stopping
        stopping = true
        condition.signal()
        condition.unlock()
        if !already { finished.wait() }
    }

    /// The loop's last call, after it has failed everything it held.
    public func finish() { finished.signal() }
}
