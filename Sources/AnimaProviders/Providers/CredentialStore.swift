import AnimaCore
import AnimaProcessor
import Crypto
import Foundation

/// API keys at rest, sealed with AES-256-GCM.
///
/// The keys live in one file (`credentials.sealed`), each sealed separately with the
/// provider's name as authenticated data, so an entry copied under another provider's
/// name fails to open instead of handing one provider's key to another. The sealing key
/// is 32 random bytes in `credentials.key` (mode 0600, in a directory of mode 0700) kept
/// in another directory than the sealed file (the data directory, not the config
/// directory), or comes from `$ANIMA_CREDENTIALS_KEY` (base64 or hex) so that it can live
/// in a secret manager instead. A key file that others may read is refused, not used. A
/// key left beside the sealed file by an older version is moved to its place.
///
/// What this protects against: the sealed file leaking on its own (a backup or synced
/// copy of the config directory, a screenshot of `cat`). What it does not: someone who can
/// read both files as the same user.
public struct CredentialStore: Sendable {
    public let directory: URL
    /// Where `credentials.key` is; apart from `directory`.
    public let keyDirectory: URL
    private let suppliedKey: SymmetricKey?

    /// The environment variable that can hold the sealing key.
    public static let keyVariable = "ANIMA_CREDENTIALS_KEY"

    /// - Parameters:
    ///   - directory: where `credentials.sealed` is.
    ///   - keyDirectory: where `credentials.key` is; give another directory than
    ///     `directory`, so one leaked folder does not hold both. Defaults to `directory`.
    ///   - environment: consulted for `$ANIMA_CREDENTIALS_KEY`.
    public init(
        directory: URL, keyDirectory: URL? = nil, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(CredentialError) {
        self.directory = directory
        self.keyDirectory = keyDirectory ?? directory
        if let text = environment[Self.keyVariable], !text.isEmpty {
            suppliedKey = try Self.key(fromText: text, origin: "$\(Self.keyVariable)")
        } else {
            suppliedKey = nil
        }
    }

    var sealedFile: URL { directory.appendingPathComponent("credentials.sealed") }
    var keyFile: URL { keyDirectory.appendingPathComponent("credentials.key") }
    /// Where older versions kept the key: beside the sealed file.
    var legacyKeyFile: URL { directory.appendingPathComponent("credentials.key") }

    /// Moves a key left beside the sealed file to `keyFile`: written durably there first,
    /// removed here after, so a crash in between leaves a usable key in one place or both.
    func migrateKey() throws(CredentialError) {
        guard keyDirectory.standardizedFileURL != directory.standardizedFileURL,
            FileManager.default.fileExists(atPath: legacyKeyFile.path)
        else { return }
        if !FileManager.default.fileExists(atPath: keyFile.path) {
            guard let data = FileManager.default.contents(atPath: legacyKeyFile.path) else {
                throw .io(path: legacyKeyFile.path, reason: "cannot read it")
            }
            do {
                try FileManager.default.createDirectory(
                    at: keyDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw .io(path: keyDirectory.path, reason: DurableFile.reason(of: error))
            }
            do { try DurableFile.write(data, to: keyFile) } catch { throw .io(path: keyFile.path, reason: error.description) }
        }
        unlink(legacyKeyFile.path)
    }

    /// Seals `credential` and stores it, replacing an earlier key of the same provider.
    public func store(_ credential: ProviderCredential) throws(CredentialError) {
        if let problem = credential.problem { throw .invalidCredential(problem) }
        let key = try sealingKey(create: true)
        var entries = try readEntries()
        let sealed: Data
        do {
            let box = try AES.GCM.seal(Data(credential.secret.utf8), using: key, authenticating: Self.context(credential.provider))
            guard let combined = box.combined else { throw CredentialError.io(path: sealedFile.path, reason: "sealing failed") }
            sealed = combined
        } catch let error as CredentialError {
            throw error
        } catch {
            throw .io(path: sealedFile.path, reason: "sealing failed: \(error)")
        }
        entries[credential.provider] = sealed.base64EncodedString()
        try writeEntries(entries)
    }

    /// The stored key of `provider`, or nil when none is stored.
    public func credential(for provider: String) throws(CredentialError) -> ProviderCredential? {
        let entries = try readEntries()
        guard let text = entries[provider] else { return nil }
        let key = try sealingKey(create: false)
        guard let data = Data(base64Encoded: text) else { throw .corrupted(path: sealedFile.path, provider: provider) }
        do {
            let box = try AES.GCM.SealedBox(combined: data)
            let plain = try AES.GCM.open(box, using: key, authenticating: Self.context(provider))
            return ProviderCredential(provider: provider, secret: String(decoding: plain, as: UTF8.self))
        } catch {
            throw .wrongKey(provider: provider)
        }
    }

    /// Forgets the stored key of `provider`; true if there was one.
    @discardableResult
    public func remove(provider: String) throws(CredentialError) -> Bool {
        var entries = try readEntries()
        guard entries.removeValue(forKey: provider) != nil else { return false }
        try writeEntries(entries)
        return true
    }

    /// The providers that have a stored key.
    public func providers() throws(CredentialError) -> [String] { try readEntries().keys.sorted() }

    // MARK: - Files

    private static func context(_ provider: String) -> Data { Data("anima-credential-v1\u{0}\(provider)".utf8) }

    private func readEntries() throws(CredentialError) -> [String: String] {
        guard FileManager.default.fileExists(atPath: sealedFile.path) else { return [:] }
        guard let data = FileManager.default.contents(atPath: sealedFile.path) else {
            throw .io(path: sealedFile.path, reason: "cannot read it")
        }
        guard case .object(let top)? = try? JSONValue(parsing: String(decoding: data, as: UTF8.self)),
            top["version"] == 1, case .object(let entries)? = top["entries"]
        else { throw .corrupted(path: sealedFile.path, provider: nil) }
        var out: [String: String] = [:]
        for (name, value) in entries {
            guard let text = value.stringValue else { throw .corrupted(path: sealedFile.path, provider: name) }
            out[name] = text
        }
        return out
    }

    private func writeEntries(_ entries: [String: String]) throws(CredentialError) {
        try makeDirectory()
        var object = JSONObject()
        for name in entries.keys.sorted() { object[name] = .string(entries[name]!) }
        let text = JSONValue.object(["version": 1, "entries": .object(object)]).jsonText + "\n"
        do { try DurableFile.write(Data(text.utf8), to: sealedFile) } catch { throw .io(path: sealedFile.path, reason: error.description) }
    }

    private func makeDirectory() throws(CredentialError) {
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .io(path: directory.path, reason: DurableFile.reason(of: error))
        }
    }

    // MARK: - Sealing key

    private func sealingKey(create: Bool) throws(CredentialError) -> SymmetricKey {
        if let suppliedKey { return suppliedKey }
        try migrateKey()
        let path = keyFile.path
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & 0o077 == 0 else {
                throw .keyFilePermissions(path: path, mode: String(info.st_mode & 0o777, radix: 8))
            }
            guard let data = FileManager.default.contents(atPath: path) else { throw .io(path: path, reason: "cannot read it") }
            return try Self.key(fromText: String(decoding: data, as: UTF8.self), origin: path)
        }
        guard create else { throw .missingKey(path: path) }
        do {
            try FileManager.default.createDirectory(
                at: keyDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .io(path: keyDirectory.path, reason: DurableFile.reason(of: error))
        }
        let key = SymmetricKey(size: .bits256)
        let text = key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
        // O_EXCL: of two processes creating the key at once, one wins and the other reads it.
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            if errno == EEXIST { return try sealingKey(create: false) }
            throw .io(path: path, reason: String(cString: strerror(errno)))
        }
        let bytes = Array(text.utf8)
        let written = write(fd, bytes, bytes.count)
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced else {
            unlink(path)
            throw .io(path: path, reason: "could not write the key")
        }
        DurableFile.syncDirectory(of: keyFile)
        return key
    }

    static func key(fromText text: String, origin: String) throws(CredentialError) -> SymmetricKey {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        var bytes: [UInt8]?
        if trimmed.count == 64, trimmed.allSatisfy(\.isHexDigit) {
            var out: [UInt8] = []
            var iterator = trimmed.makeIterator()
            while let high = iterator.next(), let low = iterator.next() {
                out.append(UInt8(high.hexDigitValue! << 4 | low.hexDigitValue!))
            }
            bytes = out
        } else if let data = Data(base64Encoded: trimmed) {
            bytes = Array(data)
        }
        guard let bytes, bytes.count == 32 else {
            throw .invalidKey("\(origin) must hold 32 bytes as base64 or 64 hex digits; make one with `head -c 32 /dev/urandom | base64`")
        }
        return SymmetricKey(data: bytes)
    }
}
