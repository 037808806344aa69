import AnimaStorage
import Foundation
import Testing

@Suite struct EncryptionKeyTests {
    @Test func aKeyFileIsCreatedOwnerOnlyAndRefusedOnceOthersCanReadIt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anima-key-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("nested/memory.key").path
        let created = try EncryptionKey.loadOrCreate(at: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try EncryptionKey.loadOrCreate(at: path).base64 == created.base64)
        chmod(path, 0o644)
        #expect(throws: StorageError.keyFilePermissions(path: path, mode: "644")) { try EncryptionKey.loadOrCreate(at: path) }
        #expect(StorageError.keyFilePermissions(path: path, mode: "644").description.contains("chmod 600"))
    }

    @Test func userSuppliedKeysAreReadAsBase64OrHexAndCheckedForLength() throws {
        let hex = String(repeating: "ab", count: 32)
        #expect(try EncryptionKey(text: hex).base64 == Data(repeating: 0xAB, count: 32).base64EncodedString())
        let key = EncryptionKey.generate()
        #expect(try EncryptionKey(text: key.base64 + "\n").base64 == key.base64)
        #expect(throws: StorageError.self) { try EncryptionKey(text: "too short") }
        #expect(throws: StorageError.self) { try EncryptionKey(bytes: [1, 2, 3]) }
    }
}
