import AnimaCore
import Foundation
import Testing

@testable import AnimaSecurity

@Suite("Principals and groups")
struct PrincipalStoreTests {
    func makeStore() throws -> (PrincipalStore, AuditLog, String) {
        let dir = temporaryDirectory()
        let audit = try AuditLog(path: dir + "/audit.log")
        return (try PrincipalStore(path: dir + "/principals.json", audit: audit), audit, dir)
    }

    @Test func aNewStoreHasRootAndTheStandardGroups() throws {
        let (store, _, _) = try makeStore()
        #expect(store.principal(named: "root")?.isRoot == true)
        #expect(Set(store.groups.keys).isSuperset(of: ["logs", "net", "gpu", "models-cloud", "datasets-health"]))
    }

    /// What a daemon serves by default: the groups its store defines, a fresh store's without
    /// one (and asking creates no store).
    @Test func theGroupNamesOfADataDirectory() throws {
        let dir = temporaryDirectory()
        #expect(try PrincipalStore.groupNames(dataDirectory: dir) == Set(PrincipalStore.standardGroups.keys).union(["root"]))
        #expect(!FileManager.default.fileExists(atPath: dir + "/principals.json"))
        let store = try PrincipalStore(path: dir + "/principals.json")
        try store.addGroup("finance", description: "the books", by: .root)
        try store.removeGroup("net", by: .root)
        let names = try PrincipalStore.groupNames(dataDirectory: dir)
        #expect(names.contains("finance") && !names.contains("net"))
    }

    @Test func rootManagesUsersAndEveryChangeIsAudited() throws {
        let (store, audit, dir) = try makeStore()
        try store.addUser("alice", by: .root)
        try store.grant("net", to: "alice", by: .root)
        #expect(store.principal(named: "alice")?.groups == ["users", "net"])
        try store.revoke("net", from: "alice", by: .root)
        #expect(store.principal(named: "alice")?.groups == ["users"])
        #expect(throws: SecurityError.self) { try store.grant("net", to: "alice", by: Principal(name: "alice", groups: ["users"])) }
        #expect(store.principal(named: "alice")?.groups == ["users"])
        audit.close()
        let entries = try AuditLog.entries(at: dir + "/audit.log", as: .root)
        #expect(entries.map(\.action) == ["useradd", "grant", "revoke", "grant"])
        #expect(entries.last?.outcome == .denied)
    }

    @Test func theStoreIsReplacedWholeAndStaysReadable() throws {
        let (store, _, dir) = try makeStore()
        try store.addUser("carol", by: .root)
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/principals.json")[.posixPermissions] as? Int
        #expect(mode == 0o644)
        // No temporary file is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".tmp") } == [])
    }

    @Test func anotherProcessesChangeIsSeenAtTheNextLookup() throws {
        let (store, _, dir) = try makeStore()
        try store.addUser("bob", groups: ["users", "net"], by: .root)
        let other = try PrincipalStore(path: dir + "/principals.json")
        #expect(other.principal(named: "bob")?.groups.contains("net") == true)
        try store.revoke("net", from: "bob", by: .root)
        #expect(other.principal(named: "bob")?.groups.contains("net") == false)
    }

    @Test func removingAGroupTakesItFromEveryone() throws {
        let (store, _, _) = try makeStore()
        try store.addUser("carol", groups: ["users", "gpu"], by: .root)
        try store.removeGroup("gpu", by: .root)
        #expect(store.principal(named: "carol")?.groups == ["users"])
        #expect(throws: SecurityError.noSuchGroup("gpu")) { try store.grant("gpu", to: "carol", by: .root) }
    }

    @Test func badNamesAreRefused() throws {
        let (store, _, _) = try makeStore()
        #expect(throws: SecurityError.self) { try store.addUser("Bad Name", by: .root) }
        #expect(throws: SecurityError.self) { try store.addUser("-x", by: .root) }
        #expect(throws: SecurityError.noSuchUser("nobody")) { try store.grant("net", to: "nobody", by: .root) }
    }
}
