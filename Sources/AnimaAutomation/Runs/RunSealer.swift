import AnimaCore
import Crypto
import Foundation
import Glibc

/// Seals what runs carry (inputs, outputs, errors, history details, webhook secrets) before
/// it is written, with AES-256-GCM under a key kept in a 0600 file beside the database, so
/// the database file holds none of it in the clear.
struct RunSealer: Sendable {
    let key: SymmetricKey

    /// Reads the key file, creating it with a fresh key the first time (O_EXCL, so two
    /// processes starting at once agree on one key).
    init(keyFile path: String) throws(WorkflowError) {
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count == 32 else {
                throw .storage("the key file \(path) is damaged (\(data.count) bytes, not 32); restore it from a backup")
            }
            var status = stat()
            if stat(path, &status) == 0, status.st_mode & 0o077 != 0 {
                throw .storage(
                    "the key file \(path) may be read by others (mode \(String(status.st_mode & 0o777, radix: 8))); run `chmod 600 \(path)`"
                )
            }
            key = SymmetricKey(data: data)
            return
        }
        let fresh = SymmetricKey(size: .bits256)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            if errno == EEXIST {
                // Another process made it first: use theirs once it is complete.
                for _ in 0..<50 {
                    if let data = FileManager.default.contents(atPath: path), data.count == 32 {
                        key = SymmetricKey(data: data)
                        return
                    }
                    usleep(20_000)
                }
            }
            throw .storage("could not create the key file \(path): \(String(cString: strerror(errno)))")
        }
        let bytes = fresh.withUnsafeBytes { Array($0) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, 32) }
        let synced = fsync(fd)
        close(fd)
        guard written == 32, synced == 0 else { throw .storage("could not write the key file \(path)") }
        key = fresh
    }

    func seal(_ text: String) throws -> String {
        guard let combined = try AES.GCM.seal(Data(text.utf8), using: key).combined else {
            throw WorkflowError.storage("could not seal a value")
        }
        return "s1:" + combined.base64EncodedString()
    }

    func seal(_ text: String?) throws -> String? { try text.map { try seal($0) } }

    func unseal(_ stored: String) throws -> String {
        guard stored.hasPrefix("s1:"), let data = Data(base64Encoded: String(stored.dropFirst(3))) else {
            throw WorkflowError.storage("a stored value is not sealed as expected; the database was changed outside Anima")
        }
        do {
            return String(decoding: try AES.GCM.open(AES.GCM.SealedBox(combined: data), using: key), as: UTF8.self)
        } catch {
            throw WorkflowError.storage("a stored value does not open with workflows.key: the key or the database was replaced")
        }
    }

    func unseal(_ stored: String?) throws -> String? { try stored.map { try unseal($0) } }
}
