/// The saved state of a suspended generation.
public struct SuspendedState: Sendable, Hashable {
    /// The slot it ran in, or nil if it had not started.
    public var previousSlot: Int?
    /// Size of its saved KV cache state.
    public var kvBytes: Int
    /// Tokens in that state (prompt read so far plus answer).
    public var tokens: Int

    public init(previousSlot: Int?, kvBytes: Int, tokens: Int) {
        self.previousSlot = previousSlot
        self.kvBytes = kvBytes
        self.tokens = tokens
    }
}
