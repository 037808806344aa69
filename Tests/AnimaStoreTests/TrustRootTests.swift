import AnimaCore
import Foundation
import Testing

@testable import AnimaStore

/// The trust store's signed root (TUF-style, kept small): roles, expiry, edits and rollbacks,
/// each refused with what failed and what to do.
@Suite("Trust root")
struct TrustRootTests {
    @Test func aKeyTrustedOnlyForPackagesCannotSignAnIndexAndTheReverse() async throws {
        let key = SigningKey.generate()
        let store = PackageStore(directory: temporaryFolder("roles").appendingPathComponent("store"))
        try store.trust.add("acme", pem: key.publicKey.pem, roles: ["packages"])
        let pkg = try makeModelPackage(in: temporaryFolder("roles-pkg"))
        try RegistryPublisher.sign(pkg, key: key)
        let reg = temporaryFolder("roles-reg")
        let entry = try RegistryPublisher.publish(pkg, to: reg, key: key)
        // The package verifies; the index the same key signed does not.
        #expect(try PackageVerifier.verify(pkg, trust: try store.trust.load()).signer.name == "acme")
        do {
            _ = try await store.index(from: RegistrySource(reg.path))
            Issue.record("an index signed by a packages-only key was accepted")
        } catch {
            #expect(error == .roleNotTrusted(publisher: "acme", roles: ["packages"], role: "index"), "\(error)")
            #expect(error.description.contains("is trusted to sign packages only, not a registry index"), "\(error.description)")
        }
        // An index-only key: the index opens, the package it signed does not verify.
        try store.trust.add("acme", pem: key.publicKey.pem, roles: ["index"])
        #expect(try await store.index(from: RegistrySource(reg.path)).latest("tiny-model")?.version == entry.version)
        #expect(
            expectStoreError({ _ = try PackageVerifier.verify(pkg, trust: try store.trust.load()) }) {
                $0 == .roleNotTrusted(publisher: "acme", roles: ["index"], role: "packages")
            } == nil)
        #expect(throws: StoreError.self) { try store.trust.add("acme", pem: key.publicKey.pem, roles: ["root"]) }
    }

    @Test func anExpiredRootIsRefusedUntilRenewed() throws {
        var trust = TrustStore(directory: temporaryFolder("expiry").appendingPathComponent("trust"))
        trust.lifetime = 60
        try trust.add("acme", pem: SigningKey.generate().publicKey.pem)
        let later = Date().addingTimeInterval(3600)
        let refused = expectStoreError({ _ = try trust.load(now: later) }) {
            if case .trustRoot(let why) = $0 { why.contains("expired") && why.contains("anima store trust renew") } else { false }
        }
        #expect(refused == nil, "\(refused ?? "")")
        try trust.renew(now: later)
        #expect(try trust.load(now: later).publishers.map(\.name) == ["acme"])
    }

    @Test func anEditedOrRolledBackRootIsRefused() throws {
        let trust = TrustStore(directory: temporaryFolder("edited").appendingPathComponent("trust"))
        try trust.add("acme", pem: SigningKey.generate().publicKey.pem)
        let first = try Data(contentsOf: trust.rootFile)
        try trust.add("bob", pem: SigningKey.generate().publicKey.pem)
        let second = try Data(contentsOf: trust.rootFile)
        // Rolled back to the earlier, validly signed root: the version kept beside it is newer.
        try first.write(to: trust.rootFile)
        #expect(
            expectStoreError({ _ = try trust.load() }) {
                if case .trustRoot(let why) = $0 { why.contains("a rolled-back root") } else { false }
            } == nil)
        // Edited: a publisher's key swapped inside the signed part, the signature kept.
        var envelope = try #require(try JSONSerialization.jsonObject(with: second) as? [String: Any])
        let signed = String(decoding: try #require(Data(base64Encoded: envelope["signed"] as! String)), as: UTF8.self)
        envelope["signed"] = Data(signed.replacingOccurrences(of: "\"bob\"", with: "\"eve\"").utf8).base64EncodedString()
        try JSONSerialization.data(withJSONObject: envelope).write(to: trust.rootFile)
        #expect(
            expectStoreError({ _ = try trust.load() }) {
                if case .trustRoot(let why) = $0 { why.contains("edited outside `anima store trust`") } else { false }
            } == nil)
        // Deleted: the store remembers it had one.
        try FileManager.default.removeItem(at: trust.rootFile)
        #expect(
            expectStoreError({ _ = try trust.load() }) {
                if case .trustRoot(let why) = $0 { why.contains("root.json is missing") } else { false }
            } == nil)
    }
}
