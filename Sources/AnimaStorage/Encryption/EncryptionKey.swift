import AnimaCore
import Crypto
import Foundation

/// The key that encrypts everything a memory store writes: message text, archival
/// passages, core memory blocks, vectors and index snapshots.
///
/// It is 32 random bytes, kept in a key file that only its owner may read (mode 0600),
/// or supplied by the user (for example from a secret manager) as base64 or hex. Losing
/// it makes the memory unreadable; that is the point.
public struct EncryptionKey: Sendable {
    let key: SymmetricKey

    /// A fresh random key.
    public static func generate() -> EncryptionKey { EncryptionKey(key: SymmetricKey(size: .bits256)) }

    /// A key from its 32 bytes.
    public init(bytes: [UInt8]) throws(StorageError) {
        guard bytes.count == 32 else {
            throw .invalidKey("a key is 32 bytes, this one is \(bytes.count); generate one with `head -c 32 /dev/urandom | base64`")
        }
        key = SymmetricKey(data: bytes)
    }

    /// A key written as base64 (44 characters) or hex (64 characters).
    public init(text: String) throws(StorageError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.count == 64, let bytes = Self.hexBytes(trimmed) {
            try self.init(bytes: bytes)
        } else if let data = Data(base64Encoded: trimmed) {
            try self.init(bytes: Array(data))
        } else {
            throw .invalidKey("expected 32 bytes as base64 or 64 hex digits")
        }
    }

    private init(key: SymmetricKey) { self.key = key }

    /// Reads the key file at `path`, creating it (mode 0600, in a directory created with
    /// mode 0700) with a fresh key when it does not exist. A key file that group or others
    /// may read is refused rather than silently used.
    /// - Parameters:
    ///   - sealedData: where memory sealed with this key lives; when it holds anything, a
    ///     missing key is an error, never silently replaced by a new one that cannot open it.
    public static func loadOrCreate(at path: String, sealedData: String? = nil) throws(StorageError) -> EncryptionKey {
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & 0o077 == 0 else {
                throw .keyFilePermissions(path: path, mode: String(info.st_mode & 0o777, radix: 8))
            }
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw .invalidKey("could not read \(path)")
            }
            return try EncryptionKey(text: text)
        }
        if let sealedData, let contents = try? FileManager.default.contentsOfDirectory(atPath: sealedData), !contents.isEmpty {
            throw .missingKey(path: path, data: sealedData)
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            do {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw .invalidKey("could not create \(directory): \(DurableFile.reason(of: error))")
            }
        }
        let key = generate()
        let text = key.key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
        // O_EXCL: two processes creating the file at once must not both win.
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            if errno == EEXIST { return try loadOrCreate(at: path, sealedData: sealedData) }
            throw .invalidKey("could not create the key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let written = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        guard written == text.utf8.count, fsync(fd) == 0 else {
            unlink(path)
            throw .invalidKey("could not write the key file \(path)")
        }
        DurableFile.syncDirectory(of: URL(fileURLWithPath: path))
        return key
    }

    /// The key as base64, for handing to a secret manager.
    public var base64: String { key.withUnsafeBytes { Data($0).base64EncodedString() } }

    private static func hexBytes(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var iterator = text.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            guard let h = high.hexDigitValue, let l = low.hexDigitValue else { return nil }
            bytes.append(UInt8(h << 4 | l))
        }
        return bytes
    }
}
