import Foundation

/// Everything the store refuses, each with what was wrong and what to do next.
///
/// A refused package is never loaded, installed or left half in place.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case manifest(field: String, problem: String)
    case unreadable(path: String, reason: String)
    case symlink(path: String)
    case bundle(String)
    case wrongKey(expectedHint: String, gotHint: String)
    case badSignature(String)
    case fileChanged(name: String)
    case extraFile(name: String)
    case missingFile(name: String)
    case templateMismatch(file: String, pinned: String, actual: String)
    case unknownPublisher(String)
    case keyExpired(publisher: String, expired: String)
    case keyRevoked(publisher: String)
    /// The publisher is trusted, but not for what its key signed (`packages` or `index`).
    case roleNotTrusted(publisher: String, roles: [String], role: String)
    case trustRoot(String)
    case downgrade(name: String, installed: String, offered: String)
    case notGranted(package: String, missing: [String])
    case index(String)
    case archive(String)
    case notFound(String)
    case notInstalled(String)
    case download(String)
    case dependency(String)
    case audit(String)

    public var description: String {
        switch self {
        case .manifest(let field, let problem):
            "anima-package.json: \(field): \(problem); fix the manifest (schema: schemas/anima-package.schema.json)"
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .symlink(let path):
            "\(path) is a symbolic link; packages may hold only regular files, so replace the link by the file it points to"
        case .bundle(let problem): "the signature bundle is not a model-signing bundle: \(problem); re-sign the package"
        case .wrongKey(let expected, let got):
            "the package was signed with key \(got.prefix(16)), not the publisher's key \(expected.prefix(16)); it is not from that publisher"
        case .badSignature(let problem): "the signature does not verify: \(problem); the package was changed after signing"
        case .fileChanged(let name): "\(name) differs from its signed digest; the package was changed after signing, reinstall it"
        case .extraFile(let name): "\(name) is not covered by the signature; remove it or re-sign the package"
        case .missingFile(let name): "\(name) is signed but missing; reinstall the package"
        case .templateMismatch(let file, let pinned, let actual):
            "chat template \(file) hashes to \(actual.prefix(16)), not the pinned \(pinned.prefix(16)); the template was swapped"
        case .unknownPublisher(let name):
            "publisher \"\(name)\" is not in the trust store; add its key with `anima store trust add \(name) KEY.pem` if you trust it"
        case .keyExpired(let publisher, let expired):
            "the key of publisher \"\(publisher)\" expired on \(expired); ask the publisher for a new key"
        case .keyRevoked(let publisher):
            "the key of publisher \"\(publisher)\" was revoked; nothing signed with it is accepted"
        case .roleNotTrusted(let publisher, let roles, let role):
            "publisher \"\(publisher)\" is trusted to sign \(roles.joined(separator: " and ")) only, not \(role == "index" ? "a registry index" : role); if you trust it for that too, run `anima store trust add \(publisher) KEY.pem --roles \((roles + [role]).joined(separator: ","))`"
        case .trustRoot(let problem): "the trust store's signed root is not valid: \(problem)"
        case .downgrade(let name, let installed, let offered):
            "\(name) \(offered) is older than \(installed), which was already installed; a downgrade is refused (it may be a replayed, vulnerable release)"
        case .notGranted(let package, let missing):
            "\(package) asks for \(missing.joined(separator: ", ")), which was not granted; rerun with --grant listing what you accept"
        case .index(let problem): "the registry index is not valid: \(problem); the registry may have been tampered with"
        case .archive(let problem): "the package archive is refused: \(problem)"
        case .notFound(let name): "no package \"\(name)\" in the registry; `anima store search` lists them"
        case .notInstalled(let name): "\(name) is not installed; `anima store list` shows what is"
        case .download(let problem): "download failed: \(problem); rerun the command to resume"
        case .dependency(let problem): "the package's dependencies cannot be installed: \(problem); nothing further was installed"
        case .audit(let problem):
            "the store could not record the change in the audit log (\(problem)); nothing was changed: fix the log (`anima audit verify`) and retry"
        }
    }
}
