import AnimaStorage
import Foundation
import Testing

/// One writer per memory directory: a second opener, in this process or another, is
/// refused with the holder's pid and what to do; the lock goes with the holder.
@Suite(.timeLimit(.minutes(2))) struct StoreLockTests {
    @Test func aSecondOpenerIsRefusedUntilTheFirstCloses() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("anima-lock-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = EncryptionKey.generate()
        let first = try await MemoryStore.open(.directory(directory), key: key, dimensions: 8)
        do {
            _ = try await MemoryStore.open(.directory(directory), key: key, dimensions: 8)
            Issue.record("a second store opened the same directory")
        } catch let error as StorageError {
            #expect(error == .locked(directory: directory.path, holder: getpid()))
            #expect(error.description.contains("pid \(getpid())") && error.description.contains("anima serve"), "\(error)")
        }
        try await first.close()
        let second = try await MemoryStore.open(.directory(directory), key: key, dimensions: 8)
        try await second.close()
        let mode = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("memory.lock").path)[.posixPermissions]
        #expect(mode as? Int == 0o600)
    }

    /// Two processes: a writer (`anima-bench memory write`) holds the store; this process
    /// is refused with the writer's pid, and opens it once the writer is gone.
    @Test func anotherProcessHoldingTheStoreIsNamed() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("anima-lock2-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = root.appendingPathComponent("memory")
        let keyFile = root.appendingPathComponent("memory.key")
        let log = root.appendingPathComponent("writer.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let writer = Process()
        writer.executableURL = CrashSafetyTests.bench
        writer.arguments = [
            "memory", "write", "--directory", directory.path, "--key-file", keyFile.path, "--count", "1000000", "--dimensions", "16",
        ]
        writer.standardOutput = try FileHandle(forWritingTo: log)
        writer.standardError = FileHandle.nullDevice
        try writer.run()
        defer {
            if writer.isRunning { kill(writer.processIdentifier, SIGKILL) }
        }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, writer.isRunning, ((try? Data(contentsOf: log))?.count ?? 0) == 0 {
            try await Task.sleep(for: .milliseconds(10))
        }
        let key = try EncryptionKey.loadOrCreate(at: keyFile.path)
        do {
            _ = try await MemoryStore.open(.directory(directory), key: key, dimensions: 16)
            Issue.record("opened a store another process is writing")
        } catch let error as StorageError {
            #expect(error == .locked(directory: directory.path, holder: writer.processIdentifier), "\(error)")
        }
        kill(writer.processIdentifier, SIGKILL)
        writer.waitUntilExit()
        let store = try await MemoryStore.open(.directory(directory), key: key, dimensions: 16)
        try await store.close()
    }
}
