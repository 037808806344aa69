import AnimaCore
import Foundation
import Testing

@testable import AnimaStore

@Suite("Registry and install")
struct RegistryTests {
    /// A registry folder holding `packages`, published with `key`.
    func registry(_ packages: [URL], key: SigningKey) throws -> URL {
        let reg = temporaryFolder("registry")
        for p in packages {
            try RegistryPublisher.sign(p, key: key)
            try RegistryPublisher.publish(p, to: reg, key: key)
        }
        return reg
    }

    func grant(_ names: Set<String>) -> PackageStore.Grant {
        { (_: PackageManifest, _: [String]?) throws(StoreError) -> Set<String> in names }
    }

    @Test func installGrantsOnlyWhatWasAcceptedAndTheCheckBeforeLoadIsCached() async throws {
        let (store, key) = try trustedStore("install")
        let pkg = try makeModelPackage(in: temporaryFolder("install"), effects: ["network", "files"])
        let reg = try registry([pkg], key: key)
        let source = RegistrySource(reg.path)
        let index = try await store.index(from: source)
        let entry = try #require(index.latest("tiny-model"))
        var seen: [Int64] = []
        let record = try await store.install(
            entry, from: source, grant: grant(["files", "shell"]), progress: { done, _ in seen.append(done) })
        #expect(record.granted == ["files"])
        #expect(record.requested == ["network", "files"])
        #expect(seen.last == entry.size)
        #expect(try store.list().map(\.name) == ["tiny-model"])
        let (_, verified) = try store.verifyForLoad("tiny-model")
        #expect(verified.manifest.version.description == "1.0.0")
        // The re-check before load hashes nothing when nothing changed.
        let clock = ContinuousClock()
        let elapsed = try clock.measure { for _ in 0..<10 { _ = try store.verifyForLoad("tiny-model") } } / 10
        #expect(elapsed < .milliseconds(50), "\(elapsed)")
        // A byte changed after install is caught before load.
        try flipByte(store.path(of: "tiny-model").appendingPathComponent("weights.gguf"))
        #expect(
            expectStoreError({ _ = try store.verifyForLoad("tiny-model") }) { if case .fileChanged = $0 { true } else { false } } == nil)
        try store.remove("tiny-model")
        #expect(try store.list().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: store.path(of: "tiny-model").path))
    }

    @Test func aReplayedOlderVersionIsRefused() async throws {
        let (store, key) = try trustedStore("downgrade")
        let parent = temporaryFolder("downgrade")
        let v1 = try makeModelPackage(in: parent, version: "1.0.0")
        let v2 = try makeModelPackage(in: parent, version: "2.0.0")
        let reg = try registry([v1, v2], key: key)
        let source = RegistrySource(reg.path)
        let index = try await store.index(from: source)
        let newest = try #require(index.latest("tiny-model"))
        #expect(newest.version == "2.0.0")
        _ = try await store.install(newest, from: source, grant: grant([]))
        let old = try #require(index.packages.first { $0.version == "1.0.0" })
        do {
            _ = try await store.install(old, from: source, grant: grant([]))
            Issue.record("the downgrade was accepted")
        } catch {
            guard case .downgrade(name: "tiny-model", installed: "2.0.0", offered: "1.0.0") = error else {
                Issue.record("\(error)"); return
            }
        }
        // Removing and reinstalling the old one is still a downgrade: the highest version is remembered.
        try store.remove("tiny-model")
        await #expect(throws: StoreError.self) { _ = try await store.install(old, from: source, grant: grant([])) }
        #expect(try store.installed("tiny-model") == nil)
    }

    @Test func anUpdateThatAsksForMoreThanWasGrantedIsRefused() async throws {
        let (store, key) = try trustedStore("more")
        let parent = temporaryFolder("more")
        let v1 = try makeModelPackage(in: parent, version: "1.0.0", effects: ["files"])
        let v2 = try makeModelPackage(in: parent, version: "1.1.0", effects: ["files", "network"])
        let reg = try registry([v1, v2], key: key)
        let source = RegistrySource(reg.path)
        let index = try await store.index(from: source)
        _ = try await store.install(try #require(index.packages.first { $0.version == "1.0.0" }), from: source, grant: grant(["files"]))
        let keep: PackageStore.Grant = { (_: PackageManifest, previous: [String]?) throws(StoreError) -> Set<String> in Set(previous ?? [])
        }
        let wider = try #require(index.latest("tiny-model"))
        do {
            _ = try await store.install(wider, from: source, grant: keep)
            Issue.record("the wider update was accepted")
        } catch {
            guard case .notGranted(package: "tiny-model", missing: ["network"]) = error else { Issue.record("\(error)"); return }
        }
        #expect(try store.installed("tiny-model")?.version == "1.0.0")
    }

    @Test func aTamperedIndexOrArchiveIsRefused() async throws {
        let (store, key) = try trustedStore("tamper")
        let pkg = try makeModelPackage(in: temporaryFolder("tamper"))
        let reg = try registry([pkg], key: key)
        let source = RegistrySource(reg.path)
        let index = try await store.index(from: source)
        let entry = try #require(index.latest("tiny-model"))
        // The archive changed after the index was signed.
        let archive = reg.appendingPathComponent(entry.archive)
        try flipByte(archive, at: 700)
        do {
            _ = try await store.install(entry, from: source, grant: grant([]))
            Issue.record("a tampered archive was accepted")
        } catch {
            guard case .index(let why) = error, why.contains("hashes to") else { Issue.record("\(error)"); return }
        }
        #expect(try store.installed("tiny-model") == nil)
        // The index's payload edited (a bigger size), its signature kept.
        let indexFile = reg.appendingPathComponent("index.json")
        var envelope = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: indexFile)) as? [String: Any])
        var payload = String(decoding: try #require(Data(base64Encoded: envelope["payload"] as! String)), as: UTF8.self)
        payload = payload.replacingOccurrences(of: "\"version\":1", with: "\"version\":7")
        envelope["payload"] = Data(payload.utf8).base64EncodedString()
        try JSONSerialization.data(withJSONObject: envelope).write(to: indexFile)
        do {
            _ = try await store.index(from: source)
            Issue.record("a tampered index was accepted")
        } catch {
            guard case .index(let why) = error, why.contains("signature") else { Issue.record("\(error)"); return }
        }
    }

    @Test func anOlderIndexIsRefusedAsAReplay() async throws {
        let (store, key) = try trustedStore("index-replay")
        let parent = temporaryFolder("index-replay")
        let reg = try registry([try makeModelPackage(in: parent, version: "1.0.0")], key: key)
        let source = RegistrySource(reg.path)
        let old = try Data(contentsOf: reg.appendingPathComponent("index.json"))
        let v2 = try makeModelPackage(in: parent, version: "2.0.0")
        try RegistryPublisher.sign(v2, key: key)
        try RegistryPublisher.publish(v2, to: reg, key: key)
        #expect(try await store.index(from: source).version == 2)
        try old.write(to: reg.appendingPathComponent("index.json"))
        await #expect(throws: StoreError.self) { _ = try await store.index(from: source) }
    }

    /// Installs of one release at once (three `anima store install` in parallel) all end
    /// installed and verified: they take turns instead of writing one download together.
    @Test func concurrentInstallsOfOneReleaseTakeTurns() async throws {
        let (store, key) = try trustedStore("parallel")
        let pkg = try makeModelPackage(in: temporaryFolder("parallel"))
        // Several download blocks (16 MiB each), so unguarded installs would interleave.
        try Data(count: 40 << 20).write(to: pkg.appendingPathComponent("weights.gguf"))
        let reg = try registry([pkg], key: key)
        let source = RegistrySource(reg.path)
        let entry = try #require(try await store.index(from: source).latest("tiny-model"))
        let grant = grant([])
        try await withThrowingTaskGroup(of: InstalledPackage.self) { group in
            for _ in 0..<3 { group.addTask { try await store.install(entry, from: source, grant: grant) } }
            for try await record in group { #expect(record.version == "1.0.0") }
        }
        #expect(try store.list().map(\.name) == ["tiny-model"])
        _ = try store.verifyForLoad("tiny-model")
    }

    @Test func anInterruptedDownloadResumes() async throws {
        let key = SigningKey.generate()
        let pkg = try makeModelPackage(in: temporaryFolder("resume"))
        let reg = try registry([pkg], key: key)
        let root = TrustRoot(
            version: 1, expires: .distantFuture,
            publishers: [.init(name: "acme", key: key.publicKey.pem, hint: key.publicKey.hint, roles: TrustRoot.roles, added: Date())])
        let (index, _) = try RegistryIndex.open(Data(contentsOf: reg.appendingPathComponent("index.json")), trust: root)
        let entry = try #require(index.packages.first)
        let target = temporaryFolder("resume-dl").appendingPathComponent("p.tar")
        let whole = try Data(contentsOf: reg.appendingPathComponent(entry.archive))
        try whole.prefix(1000).write(to: URL(fileURLWithPath: target.path + ".partial"))
        var first: Int64 = -1
        try await RegistrySource(reg.path).download(entry, to: target, block: 1024) { done, _ in if first < 0 { first = done } }
        #expect(first == 1000)
        #expect(try Data(contentsOf: target) == whole)
    }

    @Test(arguments: ["../escape.txt", "/etc/anima-evil", "a/../../escape", "link", "hardlink", "badsum"])
    func aHostileArchiveIsRefusedBeforeAnythingLeavesTheFolder(_ entry: String) throws {
        let dir = temporaryFolder("tar")
        let archive = dir.appendingPathComponent("evil.tar")
        var data = Data()
        switch entry {
        case "link": data += try PackageArchive.header(name: "weights.gguf", size: 0, type: UInt8(ascii: "2"))
        case "hardlink": data += try PackageArchive.header(name: "weights.gguf", size: 0, type: UInt8(ascii: "1"))
        case "badsum":
            var h = try PackageArchive.header(name: "ok.txt", size: 1)
            h[0] = UInt8(ascii: "x")
            data += h + Data([0x41]) + Data(count: 511)
        default: data += try PackageArchive.header(name: entry, size: 4) + Data("evil".utf8) + Data(count: 508)
        }
        data += Data(count: 1024)
        try data.write(to: archive)
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        #expect(
            expectStoreError({ try PackageArchive.extract(archive, into: out) }) { if case .archive = $0 { true } else { false } } == nil)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("escape.txt").path))
        #expect(!FileManager.default.fileExists(atPath: "/etc/anima-evil"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
    }

    @Test func anArchiveRoundTripsWithLongNames() throws {
        let dir = temporaryFolder("tar-long")
        let src = dir.appendingPathComponent("src")
        let deep = String(repeating: "d", count: 90) + "/" + String(repeating: "e", count: 60)
        try FileManager.default.createDirectory(at: src.appendingPathComponent(deep), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: src.appendingPathComponent(deep + "/" + String(repeating: "f", count: 80)))
        try Data().write(to: src.appendingPathComponent("empty"))
        try PackageArchive.create(from: src, to: dir.appendingPathComponent("a.tar"))
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try PackageArchive.extract(dir.appendingPathComponent("a.tar"), into: out)
        #expect(try PackageFiles.list(out).keys.sorted() == PackageFiles.list(src).keys.sorted())
    }
}
