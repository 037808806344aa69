import AnimaCore
import Crypto
import Foundation

/// Stands in for content in the audit log: a keyed digest (HMAC-SHA256) and a length.
///
/// The audit log records who did what to whom, but never the content itself: passage
/// text, search queries, tool arguments and messages would otherwise stay readable to
/// every `logs` reader and outlive `forget`. With the key (0600 in the data directory,
/// `audit.key`) an operator can still check whether a given text was the one recorded;
/// without it the digest says nothing about the text. Deleting the key makes every
/// recorded digest unlinkable.
public struct AuditDigest: Sendable {
    /// The key's file name in the data directory.
    public static let fileName = "audit.key"
    /// The HMAC with the key already absorbed: each digest copies it instead of keying anew.
    private let keyed: HMAC<SHA256>

    public init(key: SymmetricKey) { keyed = HMAC<SHA256>(key: key) }

    /// A key for this process only: for kernels without a data directory (tests, scratch
    /// runs), whose records nobody needs to match later.
    public static func ephemeral() -> AuditDigest { AuditDigest(key: SymmetricKey(size: .bits256)) }

    /// The key in `directory/audit.key`, created (0600, written durably) the first time.
    public init(dataDirectory directory: String) throws(SecurityError) {
        let url = URL(fileURLWithPath: directory).appendingPathComponent(Self.fileName)
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            if let data = try DurableFile.read(url) {
                // 64 hex digits as written here, or the 32 raw bytes themselves.
                let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                guard let bytes = Hex.decode(text).flatMap({ $0.count == 32 ? $0 : nil }) ?? (data.count == 32 ? Array(data) : nil) else {
                    throw SecurityError.malformed(
                        path: url.path,
                        reason:
                            "the audit key is neither 64 hex digits nor 32 bytes; restore it from a backup, or remove it (older records' digests can then no longer be matched)"
                    )
                }
                keyed = HMAC<SHA256>(key: SymmetricKey(data: bytes))
            } else {
                let fresh = SymmetricKey(size: .bits256)
                try DurableFile.write(Data(fresh.withUnsafeBytes { Hex.encode(Array($0)) }.utf8), to: url)
                keyed = HMAC<SHA256>(key: fresh)
            }
        } catch let error as SecurityError {
            throw error
        } catch let error as DurableFileError {
            throw .io(path: url.path, reason: error.description)
        } catch {
            throw .io(path: url.path, reason: DurableFile.reason(of: error))
        }
    }

    /// `hmac:<first 16 hex digits> (<n> bytes)`: enough to match a known text, nothing to read.
    public func digest(_ text: String) -> String {
        var hmac = keyed
        var text = text
        text.withUTF8 { hmac.update(data: UnsafeRawBufferPointer($0)) }
        let mac = hmac.finalize()
        return "hmac:" + mac.withUnsafeBytes { Hex.encode($0.prefix(8)) } + " (\(text.utf8.count) bytes)"
    }
}
