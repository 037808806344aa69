import Testing

@testable import AnimaStorage

@Suite struct NamespaceTests {
    @Test func rejectsNamesThatCouldEscapeTheirNamespace() {
        #expect(throws: StorageError.self) { try MemoryNamespace(user: "../etc", agent: "a") }
        #expect(throws: StorageError.self) { try MemoryNamespace(user: "", agent: "a") }
        #expect(throws: StorageError.self) { try MemoryNamespace(user: "alice", agent: "a b") }
        #expect((try? MemoryNamespace(user: "alice", agent: "agent-1.main_2")) != nil)
    }
}
