import AnimaCore
import Foundation
import Testing

@testable import AnimaStore

/// Dependencies declared by a package come first, from the same signed registry, each
/// verified; a cycle or a missing dependency is a clear refusal before anything installs.
@Suite("Package dependencies")
struct DependencyTests {
    /// A skill package `name` that needs `needs` (name, minimum version).
    func package(_ name: String, _ version: String = "1.0.0", needs: [(String, String?)] = [], in parent: URL) throws -> URL {
        let dir = parent.appendingPathComponent("\(name)-\(version)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data("Skill \(name).".utf8).write(to: dir.appendingPathComponent("SKILL.md"))
        let manifest: [String: Any] = [
            "schemaVersion": 1, "name": name, "version": version, "publisher": "acme", "kind": "skill", "license": "MIT",
            "description": "skill \(name)", "files": [["path": "SKILL.md", "role": "skill"]],
            "dependencies": needs.map { n, v in v.map { ["name": n, "minimumVersion": $0] } ?? ["name": n] },
        ]
        try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]).write(
            to: dir.appendingPathComponent("anima-package.json"))
        return dir
    }

    func registry(_ packages: [URL], key: SigningKey) throws -> RegistrySource {
        let reg = temporaryFolder("deps-registry")
        for p in packages {
            try RegistryPublisher.sign(p, key: key)
            try RegistryPublisher.publish(p, to: reg, key: key)
        }
        return RegistrySource(reg.path)
    }

    let none: PackageStore.Grant = { (_: PackageManifest, _: [String]?) throws(StoreError) -> Set<String> in [] }

    @Test func dependenciesInstallFirstThroughAnyNumberOfSteps() async throws {
        let (store, key) = try trustedStore("deps")
        let parent = temporaryFolder("deps")
        let source = try registry(
            [
                try package("writer", needs: [("grammar", "2.0"), ("spelling", nil)], in: parent),
                try package("grammar", "1.0.0", in: parent), try package("grammar", "2.1.0", needs: [("spelling", "1.0")], in: parent),
                try package("spelling", in: parent),
            ], key: key)
        let installed = try await store.installResolving("writer", from: source, grant: none)
        #expect(installed.map(\.name) == ["spelling", "grammar", "writer"])
        #expect(try store.installed("grammar")?.version == "2.1.0")
        // Nothing left to fetch: only the package itself is (re)installed.
        #expect(try await store.installResolving("writer", from: source, grant: none).map(\.name) == ["writer"])
        #expect(store.skills().packages.map(\.record.name) == ["grammar", "spelling", "writer"])
        #expect(store.skills().packages.first?.files(role: "skill").first?.lastPathComponent == "SKILL.md")
    }

    @Test func aCycleOrAMissingOrTooOldDependencyIsRefusedBeforeAnythingInstalls() async throws {
        let (store, key) = try trustedStore("deps-bad")
        let parent = temporaryFolder("deps-bad")
        let source = try registry(
            [
                try package("ouro", needs: [("boros", nil)], in: parent), try package("boros", needs: [("ouro", nil)], in: parent),
                try package("lonely", needs: [("ghost", nil)], in: parent),
                try package("picky", needs: [("spelling", "3.0")], in: parent), try package("spelling", in: parent),
            ], key: key)
        let cases: [(String, String)] = [
            ("ouro", "ouro → boros → ouro is a cycle"), ("lonely", "ghost, needed by lonely, is not in the registry"),
            ("picky", "picky needs spelling 3.0 or newer, but the registry's newest is 1.0.0"),
        ]
        for (name, message) in cases {
            do {
                _ = try await store.installResolving(name, from: source, grant: none)
                Issue.record("\(name) installed")
            } catch {
                #expect(error.description.contains(message), "\(error.description)")
            }
        }
        #expect(try store.list().isEmpty)
        // A package installed from an archive alone still needs its dependencies installed first.
        let index = try await store.index(from: source)
        let entry = try #require(index.latest("picky"))
        guard case .directory(let root) = source.location else { return }
        let refused = expectStoreError({
            _ = try store.install(archive: root.appendingPathComponent(entry.archive), expecting: entry, source: "file", grant: none)
        }) { if case .notInstalled = $0 { true } else { false } }
        #expect(refused == nil, "\(refused ?? "")")
    }
}
