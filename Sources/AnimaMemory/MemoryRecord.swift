import Foundation

/// One thing an agent remembers, as searches return it: a message from its
/// conversations or a passage of its archival memory.
public struct MemoryRecord: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case message
        case passage
    }

    public var agent: String
    public var kind: Kind
    /// Its ID within the agent's store of that kind (what `forget` takes).
    public var id: Int64
    public var text: String
    /// The speaker of a message, or the tags of a passage.
    public var label: String
    public var createdAt: Date
    /// Reciprocal-rank fusion score: larger is more relevant.
    public var score: Double
}
