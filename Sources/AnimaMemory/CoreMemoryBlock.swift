/// A labelled, size-limited piece of core memory that is always in context (such as
/// "persona" or "human"). The model edits it only through the memory functions
/// `core_memory_append` and `core_memory_replace`.
public struct CoreMemoryBlock: Sendable, Hashable, Codable {
    /// The block's name, as the model refers to it.
    public var label: String
    /// What the block is for, shown to the model beside it.
    public var description: String
    public var value: String
    /// Most tokens the value may hold (the model's own tokenizer counts them).
    public var limit: Int

    public init(label: String, description: String, value: String = "", limit: Int = 200) {
        self.label = label
        self.description = description
        self.value = value
        self.limit = limit
    }

    /// The usual pair: who the agent is, and what it knows about its user.
    public static let defaults: [CoreMemoryBlock] = [
        CoreMemoryBlock(label: "persona", description: "who you are and how you behave"),
        CoreMemoryBlock(label: "human", description: "what you know about the person you talk with"),
    ]
}
