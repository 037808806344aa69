/// KV caches of shared prompt prefixes (system messages), each in a sequence of its own,
/// copied into a new generation's sequence instead of being computed again: the shared
/// library pages of the processor. Shared per owner (`GenerationRequest.cacheOwner`), as a
/// slot's kept prompt is: a hit is visible in the time to the first token.
struct PrefixCache {
    private struct Entry {
        var tokens: [Int32]
        var owner: String?
        var sequence: Int32
        var lastUse: UInt64
    }

    private let sequences: [Int32]
    private var entries: [Entry] = []

    init(sequences: [Int32]) { self.sequences = sequences }

    var isEnabled: Bool { !sequences.isEmpty }

    /// The sequence holding exactly `prefix` for `owner`, if cached.
    mutating func lookup(_ prefix: ArraySlice<Int32>, owner: String?, now: UInt64) -> Int32? {
        guard let i = entries.firstIndex(where: { $0.owner == owner && $0.tokens.elementsEqual(prefix) }) else { return nil }
        entries[i].lastUse = now
        return entries[i].sequence
    }

    /// A sequence to hold `prefix`: a free one, or the least recently used.
    mutating func insert(_ prefix: ArraySlice<Int32>, owner: String?, now: UInt64) -> Int32 {
        let used = Set(entries.map(\.sequence))
        if let free = sequences.first(where: { !used.contains($0) }) {
            entries.append(Entry(tokens: Array(prefix), owner: owner, sequence: free, lastUse: now))
            return free
        }
        let i = entries.indices.min { entries[$0].lastUse < entries[$1].lastUse }!
        entries[i] = Entry(tokens: Array(prefix), owner: owner, sequence: entries[i].sequence, lastUse: now)
        return entries[i].sequence
    }
}
