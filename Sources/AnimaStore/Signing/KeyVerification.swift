import Foundation

/// Verifies any folder signed with model-signing's key method against one public key,
/// without a manifest or the trust store (what `model_signing verify key` does).
public enum KeyVerification {
    public static func verify(_ folder: URL, signature: URL, key: PublicKey) throws(StoreError) -> SignatureBundle.Statement {
        let statement = try SignatureBundle.open(try PackageVerifier.readRegular(signature), key: key)
        let sigPath = signature.standardizedFileURL.path
        let base = folder.standardizedFileURL.path + "/"
        var skip: Set<String> = []
        if sigPath.hasPrefix(base) { skip.insert(String(sigPath.dropFirst(base.count))) }
        let onDisk = try PackageFiles.list(folder, skipping: skip)
        let signed = statement.digests
        if let extra = onDisk.keys.sorted().first(where: { signed[$0] == nil }) { throw .extraFile(name: extra) }
        if let missing = signed.keys.sorted().first(where: { onDisk[$0] == nil }) { throw .missingFile(name: missing) }
        for (name, expected) in statement.resources where try PackageFiles.sha256(folder.path + "/" + name) != expected {
            throw .fileChanged(name: name)
        }
        return statement
    }
}
