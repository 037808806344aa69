import Foundation
import Testing

@testable import AnimaProcessor
@testable import AnimaProviders

@Suite("Credential store")
struct CredentialStoreTests {
    func directory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("anima-credentials-\(UUID().uuidString)")
    }

    @Test func sealsAtRestAndOpensAgain() throws {
        let dir = directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try CredentialStore(directory: dir, environment: [:])
        let secret = "sk-proj-AtR3stT3stS3cr3tV4lu3xyz"
        try store.store(ProviderCredential(provider: "openai", secret: secret))
        try store.store(ProviderCredential(provider: "anthropic", secret: "sk-ant-0th3rK3y"))
        #expect(try store.credential(for: "openai")?.secret == secret)
        #expect(try store.providers() == ["anthropic", "openai"])
        let sealed = try Data(contentsOf: store.sealedFile)
        #expect(!String(decoding: sealed, as: UTF8.self).contains(secret))
        #expect(!String(decoding: sealed, as: UTF8.self).contains("AtR3st"))
        let mode = try FileManager.default.attributesOfItem(atPath: store.keyFile.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try store.remove(provider: "anthropic"))
        #expect(try store.credential(for: "anthropic") == nil)
    }

    /// An entry copied under another provider's name does not open: a key cannot be
    /// handed to the wrong provider by editing the file.
    @Test func entriesAreBoundToTheirProvider() throws {
        let dir = directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try CredentialStore(directory: dir, environment: [:])
        try store.store(ProviderCredential(provider: "openai", secret: "sk-proj-B0undT0Op3nAI"))
        var text = try String(contentsOf: store.sealedFile, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"openai\"", with: "\"gemini\"")
        try text.write(to: store.sealedFile, atomically: true, encoding: .utf8)
        #expect(throws: CredentialError.wrongKey(provider: "gemini")) { _ = try store.credential(for: "gemini") }
    }

    @Test func wrongKeyAndUnsafeKeyFileAreRefused() throws {
        let dir = directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try CredentialStore(directory: dir, environment: [:])
        try store.store(ProviderCredential(provider: "openai", secret: "sk-proj-K3yF1l3T3st"))
        let other = try CredentialStore(directory: dir, environment: [CredentialStore.keyVariable: String(repeating: "ab", count: 32)])
        #expect(throws: CredentialError.wrongKey(provider: "openai")) { _ = try other.credential(for: "openai") }
        chmod(store.keyFile.path, 0o644)
        #expect(throws: CredentialError.keyFilePermissions(path: store.keyFile.path, mode: "644")) {
            _ = try store.credential(for: "openai")
        }
        #expect(throws: CredentialError.self) {
            _ = try CredentialStore(directory: dir, environment: [CredentialStore.keyVariable: "too short"])
        }
    }

    /// The key lives apart from the sealed file, so a leaked copy of one folder holds
    /// only one of them; a key an older version left beside the sealed file moves there
    /// and still opens what it sealed.
    @Test func theKeyLivesApartAndAnOldKeyMovesThere() throws {
        let config = directory(), data = directory()
        defer {
            try? FileManager.default.removeItem(at: config)
            try? FileManager.default.removeItem(at: data)
        }
        let old = try CredentialStore(directory: config, environment: [:])
        try old.store(ProviderCredential(provider: "openai", secret: "sk-proj-M1gr4t3dK3y"))
        #expect(FileManager.default.fileExists(atPath: config.appendingPathComponent("credentials.key").path))

        let store = try CredentialStore(directory: config, keyDirectory: data, environment: [:])
        #expect(try store.credential(for: "openai")?.secret == "sk-proj-M1gr4t3dK3y")
        #expect(!FileManager.default.fileExists(atPath: config.appendingPathComponent("credentials.key").path))
        #expect(store.keyFile.path == data.appendingPathComponent("credentials.key").path)
        let mode = try FileManager.default.attributesOfItem(atPath: store.keyFile.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        try store.store(ProviderCredential(provider: "anthropic", secret: "sk-ant-N3wK3y"))
        let files = try FileManager.default.contentsOfDirectory(atPath: config.path)
        #expect(files.contains("credentials.sealed") && !files.contains("credentials.key"), "\(files)")
        #expect(try store.credential(for: "anthropic")?.secret == "sk-ant-N3wK3y")
    }
}
