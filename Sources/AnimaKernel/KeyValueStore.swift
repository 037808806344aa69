import AnimaCore

/// The kernel's key-value store (the `memory` read, write, erase and list syscalls): a
/// few values per owner, in the kernel's memory only, each with the provenance label of
/// what it was made from. Not the agents' persistent memory (`MemorySystem`), nor core
/// memory (the blocks in an agent's context).
struct KeyValueStore {
    struct Cell {
        var value: JSONValue
        var label: ProvenanceLabel
    }

    private var cells: [String: [String: Cell]] = [:]

    func read(_ key: String, of owner: String) -> Cell? { cells[owner]?[key] }

    mutating func write(_ value: JSONValue, label: ProvenanceLabel, at key: String, of owner: String) {
        cells[owner, default: [:]][key] = Cell(value: value, label: label)
    }

    mutating func erase(_ key: String, of owner: String) { cells[owner]?[key] = nil }

    /// The owner's keys that start with `prefix`, sorted.
    func keys(of owner: String, prefix: String) -> [String] {
        (cells[owner] ?? [:]).keys.filter { $0.hasPrefix(prefix) }.sorted()
    }
}
