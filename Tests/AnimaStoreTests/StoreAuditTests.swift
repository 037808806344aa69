import AnimaCore
import AnimaSecurity
import Foundation
import Testing

@testable import AnimaStore

/// The store's changes and refusals in the hash-chained audit log: what a security
/// reviewer reads after the fact, with digests and key hints, never a key.
@Suite("Store events in the audit log")
struct StoreAuditTests {
    func grant(_ names: Set<String>) -> PackageStore.Grant {
        { (_: PackageManifest, _: [String]?) throws(StoreError) -> Set<String> in names }
    }

    func lines(_ path: String) throws -> [AuditLine] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { try AuditLine(line: String($0)) }
    }

    @Test func installGrantUpdateRemoveTrustAndRefusalsAreChainedLines() async throws {
        let folder = temporaryFolder("audit")
        let logPath = folder.path + "/audit.log"
        let audit = StoreAudit(log: try AuditLog(path: logPath), owner: "alice")
        let store = PackageStore(directory: folder.appendingPathComponent("store"), audit: audit)
        let key = SigningKey.generate()
        try store.trust.add("acme", pem: key.publicKey.pem)
        let parent = temporaryFolder("audit-packages")
        let registry = temporaryFolder("audit-registry")
        for version in ["1.0.0", "1.1.0"] {
            let package = try makeModelPackage(in: parent, version: version, effects: ["network", "files"])
            try RegistryPublisher.sign(package, key: key)
            try RegistryPublisher.publish(package, to: registry, key: key)
        }
        let source = RegistrySource(registry.path)
        let index = try await store.index(from: source)
        let v1 = try #require(index.packages.first { $0.version == "1.0.0" })
        let v2 = try #require(index.latest("tiny-model"))
        // The user, password and query of a registry URL never reach the log.
        let installed = try store.install(
            archive: registry.appendingPathComponent(v1.archive), expecting: v1, source: "https://bob:hunter2@example.com/reg?token=s3cret",
            grant: grant(["files"]))
        _ = try await store.install(v2, from: source, grant: grant(["files"]))
        // Refusals: a downgrade, and a byte changed after install (caught before load).
        #expect(throws: StoreError.self) {
            _ = try store.install(archive: registry.appendingPathComponent(v1.archive), expecting: v1, source: "x", grant: grant([]))
        }
        try flipByte(store.path(of: "tiny-model").appendingPathComponent("weights.gguf"))
        #expect(throws: StoreError.self) { _ = try store.verifyForLoad("tiny-model") }
        try store.remove("tiny-model")
        try store.trust.revoke("acme")
        try store.trust.renew()
        audit.log.close()

        let log = try lines(logPath)
        let actions = log.map(\.action)
        #expect(
            actions == [
                "store.trust.add", "store.grant", "store.install", "store.grant", "store.update", "store.install", "store.verify",
                "store.remove", "store.trust.revoke", "store.trust.renew",
            ], "\(actions)")
        #expect(log.allSatisfy { $0.owner == "alice" })
        let install = log[2]
        #expect(install.summary.contains("tiny-model 1.0.0") && install.summary.contains(installed.rootDigest), "\(install.summary)")
        #expect(install.summary.contains(key.publicKey.hint.prefix(16)))
        #expect(install.summary.contains("from https://example.com/reg"), "\(install.summary)")
        #expect(log[1].outcome == .recorded && log[1].summary.contains("granted files") && log[1].summary.contains("refused network"))
        #expect(log[4].summary.contains("replacing 1.0.0"))
        #expect(log[5].outcome == .denied && log[5].detail.contains("downgrade is refused"), "\(log[5])")
        #expect(log[6].outcome == .failed && log[6].detail.contains("weights.gguf differs"), "\(log[6])")
        // The chain holds, and no secret is in it.
        let text = try String(contentsOfFile: logPath, encoding: .utf8)
        #expect(try AuditLog.verify(at: logPath, as: Principal.root).isIntact)
        for secret in ["hunter2", "s3cret", "PRIVATE KEY", String(key.pem.split(separator: "\n")[1].prefix(24))] {
            #expect(!text.contains(secret), "\(secret) is in the audit log")
        }
    }

    @Test func anIndexSignedByAnUnknownKeyIsRefusedAndRecorded() async throws {
        let folder = temporaryFolder("audit-index")
        let logPath = folder.path + "/audit.log"
        let audit = StoreAudit(log: try AuditLog(path: logPath), owner: "alice")
        let store = PackageStore(directory: folder.appendingPathComponent("store"), audit: audit)
        try store.trust.add("acme", pem: SigningKey.generate().publicKey.pem)
        let stranger = SigningKey.generate()
        let package = try makeModelPackage(in: temporaryFolder("audit-index-package"))
        let registry = temporaryFolder("audit-index-registry")
        try RegistryPublisher.sign(package, key: stranger)
        try RegistryPublisher.publish(package, to: registry, key: stranger)
        await #expect(throws: StoreError.self) { _ = try await store.index(from: RegistrySource(registry.path)) }
        audit.log.close()
        let last = try #require(try lines(logPath).last)
        #expect(last.action == "store.verify" && last.outcome == .failed, "\(last)")
        #expect(last.summary.contains(registry.path) && last.detail.contains("no trusted publisher holds"), "\(last)")
    }

    @Test func aChangeTheLogCannotHoldIsNotMade() async throws {
        let folder = temporaryFolder("audit-closed")
        let log = try AuditLog(path: folder.path + "/audit.log")
        log.close()
        let store = PackageStore(directory: folder.appendingPathComponent("store"), audit: StoreAudit(log: log, owner: "alice"))
        let key = SigningKey.generate()
        let refused = expectStoreError({ try store.trust.add("acme", pem: key.publicKey.pem) }) {
            if case .audit = $0 { true } else { false }
        }
        #expect(refused == nil, "\(refused ?? "")")
        #expect(try PackageStore(directory: folder.appendingPathComponent("store")).trust.load().publishers.isEmpty)
    }
}
