import AnimaCore

/// How busy a local engine is: generations decoding, waiting for a slot, and slots.
public struct ProcessorLoad: Sendable, Hashable {
    public var running: Int
    public var waiting: Int
    public var slots: Int

    public init(running: Int, waiting: Int, slots: Int) {
        self.running = running
        self.waiting = waiting
        self.slots = slots
    }

    /// How many requests would be ahead of a new one in the queue (0: a slot is free).
    public var queuePosition: Int { max(0, running + waiting - slots + 1) }
}
