import Foundation

/// One agent's core memory and working state, as named, sealed values: the memory layer
/// keeps its blocks, summary and context bookkeeping here so an agent resumes where it
/// stopped. Bound to one namespace.
public struct CoreMemoryStore: Sendable {
    let store: MemoryStore
    let cipher: NamespaceCipher

    public var namespace: MemoryNamespace { cipher.namespace }

    /// The value stored under `name`, or nil.
    public func value<T: Decodable & Sendable>(_ name: String, as type: T.Type) async throws -> T? {
        try MemoryNamespace.check(name, what: "block")
        guard let block = try await store.backend.blocks(namespace).first(where: { $0.name == name }) else { return nil }
        return try cipher.open(json: block.sealed, as: T.self, context: "slot\u{0}\(name)")
    }

    /// Every stored name.
    public func names() async throws -> [String] {
        try await store.backend.blocks(namespace).map(\.name)
    }

    public func setValue<T: Encodable & Sendable>(_ value: T, for name: String) async throws {
        try MemoryNamespace.check(name, what: "block")
        let sealed = try cipher.seal(json: value, context: "slot\u{0}\(name)")
        try await store.backend.putBlock(namespace, StoredBlock(name: name, sealed: sealed))
    }

    public func removeValue(_ name: String) async throws {
        try MemoryNamespace.check(name, what: "block")
        try await store.backend.deleteBlock(namespace, name: name)
    }
}
