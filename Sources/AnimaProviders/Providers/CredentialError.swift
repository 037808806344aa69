import AnimaCore
import AnimaProcessor

/// Why stored credentials could not be read or written.
public enum CredentialError: Error, Sendable, Equatable, CustomStringConvertible {
    case keyFilePermissions(path: String, mode: String)
    case missingKey(path: String)
    case invalidKey(String)
    case wrongKey(provider: String)
    case corrupted(path: String, provider: String?)
    case invalidCredential(String)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .keyFilePermissions(let path, let mode):
            "the credentials key \(path) may be read by others (mode \(mode)); run `chmod 600 \(path)`"
        case .missingKey(let path):
            "the sealed credentials exist but their key \(path) is missing; restore it, set $\(CredentialStore.keyVariable), "
                + "or store the API keys again with `anima setup`"
        case .invalidKey(let reason):
            "invalid credentials key: \(reason)"
        case .wrongKey(let provider):
            "the stored API key for \(provider) does not open with this credentials key (a different key, or a tampered file); "
                + "store it again with `anima setup`"
        case .corrupted(let path, let provider):
            "\(path) is damaged\(provider.map { " at the entry for \($0)" } ?? ""); store the API keys again with `anima setup`"
        case .invalidCredential(let reason):
            "\(reason); paste the key exactly as the provider shows it"
        case .io(let path, let reason):
            "cannot use \(path): \(reason)"
        }
    }
}
