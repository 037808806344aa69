/// A process's incoming messages, delivered in the order they were sent.
struct Mailbox {
    private var messages: [Message] = []
    private var waiter: CheckedContinuation<Message?, Never>?

    var isEmpty: Bool { messages.isEmpty }

    /// Delivers to a waiting receiver, or queues.
    mutating func deliver(_ message: Message) {
        if let waiter {
            self.waiter = nil
            waiter.resume(returning: message)
        } else {
            messages.append(message)
        }
    }

    mutating func take() -> Message? { messages.isEmpty ? nil : messages.removeFirst() }

    /// Empties the mailbox (its process has exited), returning what was never received.
    mutating func drain() -> [Message] {
        defer { messages.removeAll() }
        return messages
    }

    /// Parks a receiver until a message arrives or `wake` is called.
    mutating func park(_ continuation: CheckedContinuation<Message?, Never>) {
        waiter?.resume(returning: nil)
        waiter = continuation
    }

    /// Releases a parked receiver empty-handed (timeout, termination).
    mutating func wake() {
        waiter?.resume(returning: nil)
        waiter = nil
    }
}
