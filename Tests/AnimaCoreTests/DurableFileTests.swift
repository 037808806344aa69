import Foundation
import Synchronization
import Testing

@testable import AnimaCore

#if canImport(Glibc)
import Glibc
#endif

/// The system calls a write made, in order.
private final class CallLog: Sendable {
    private let entries = Mutex<[String]>([])
    func append(_ entry: String) { entries.withLock { $0.append(entry) } }
    var all: [String] { entries.withLock { $0 } }
    /// What each open descriptor is: the temporary file or the directory.
    let kinds = Mutex<[Int32: String]>([:])
}

@Suite("Durable file")
struct DurableFileTests {
    private func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("durable-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The system calls, each logged by name (and, for fsync, by what the descriptor is).
    private func recording(_ log: CallLog, failing: String? = nil) -> DurableFile.Calls {
        let system = DurableFile.Calls.system
        let fail: @Sendable (String) -> Bool = { name in
            guard name == failing else { return false }
            errno = EIO
            return true
        }
        return DurableFile.Calls(
            open: { path, flags, mode in
                let fd = system.open(path, flags, mode)
                let kind = flags & O_DIRECTORY != 0 ? "directory" : "temporary"
                log.kinds.withLock { $0[fd] = kind }
                log.append("open \(kind)")
                return fd
            },
            fchmod: { system.fchmod($0, $1) },
            write: { fd, bytes, count in
                log.append("write")
                return fail("write") ? -1 : system.write(fd, bytes, count)
            },
            fsync: { fd in
                let kind = log.kinds.withLock { $0[fd] ?? "?" }
                log.append("fsync \(kind)")
                return fail("fsync") ? -1 : system.fsync(fd)
            },
            close: { system.close($0) },
            rename: { from, to in
                log.append("rename")
                return fail("rename") ? -1 : system.rename(from, to)
            },
            unlink: { path in
                log.append("unlink")
                return system.unlink(path)
            })
    }

    @Test func writesTheTemporaryFileSyncsItRenamesThenSyncsTheDirectory() throws {
        let dir = try directory()
        let file = dir.appendingPathComponent("state.json")
        let log = CallLog()
        try DurableFile.write(Data("new".utf8), to: file, mode: 0o600, using: recording(log))
        #expect(log.all == ["open temporary", "write", "fsync temporary", "rename", "open directory", "fsync directory"])
        #expect(try DurableFile.read(file) == Data("new".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["state.json"])
    }

    @Test(arguments: ["write", "fsync", "rename"])
    func aFailedStepKeepsTheOldContentsAndLeavesNoTemporaryFile(step: String) throws {
        let dir = try directory()
        let file = dir.appendingPathComponent("state.json")
        try DurableFile.write(Data("old".utf8), to: file)
        let log = CallLog()
        #expect(throws: DurableFileError.self) {
            try DurableFile.write(Data("new".utf8), to: file, mode: 0o600, using: recording(log, failing: step))
        }
        #expect(try DurableFile.read(file) == Data("old".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["state.json"])
        #expect(log.all.last == "unlink")
        #expect(!(log.all.contains("rename") && step != "rename"))
    }

    @Test func secretsAreMode0600AndOtherModesAreKept() throws {
        let dir = try directory()
        let secret = dir.appendingPathComponent("key")
        umask(0o022)
        try DurableFile.write(Data("s".utf8), to: secret)
        try DurableFile.write(Data("p".utf8), to: dir.appendingPathComponent("public"), mode: 0o644)
        let mode = { (name: String) in try FileManager.default.attributesOfItem(atPath: dir.path + "/" + name)[.posixPermissions] as? Int }
        #expect(try mode("key") == 0o600)
        #expect(try mode("public") == 0o644)
        chmod(secret.path, 0o644)
        try DurableFile.write(Data("t".utf8), to: secret)
        #expect(try mode("key") == 0o600)
    }

    @Test func aMissingDirectoryIsAnErrorThatNamesThePath() throws {
        let file = try directory().appendingPathComponent("absent/state.json")
        #expect {
            try DurableFile.write(Data(), to: file)
        } throws: { error in
            (error as? DurableFileError)?.description.contains(file.path) == true
        }
        #expect(try DurableFile.read(file) == nil)
    }
}
