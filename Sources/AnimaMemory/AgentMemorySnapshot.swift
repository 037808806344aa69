/// What one agent keeps in memory, read while it is not running.
public struct AgentMemorySnapshot: Sendable, Hashable {
    /// Its core memory blocks, always in its context.
    public var blocks: [CoreMemoryBlock]
    /// The recursive summary of messages that left its context.
    public var summary: String
    /// The messages in its context window.
    public var resident: [ResidentMessage]
    /// Messages in recall storage (resident or not).
    public var messages: Int
    /// Passages in archival storage.
    public var passages: Int
    /// Its newest page-in decisions (stored as each is made), oldest first.
    public var pageIns: [PageInEvent] = []
}
