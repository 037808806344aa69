/// Why a security operation could not be done, said so the user can act on it.
public enum SecurityError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Reading or changing something needs a group the principal lacks.
    case permissionDenied(String)
    /// A file (policy, user store, audit log) could not be read or written.
    case io(path: String, reason: String)
    /// A file exists but its content is not what it should be.
    case malformed(path: String, reason: String)
    /// A name given on the command line or in a file is not valid.
    case invalidName(String)
    case noSuchUser(String)
    case noSuchGroup(String)

    public var description: String {
        switch self {
        case .permissionDenied(let why): "permission denied: \(why)"
        case .io(let path, let reason): "\(path): \(reason)"
        case .malformed(let path, let reason): "\(path) is malformed: \(reason)"
        case .invalidName(let why): why
        case .noSuchUser(let name): "no user named \(name) (list them with `anima users`)"
        case .noSuchGroup(let name): "no group named \(name) (list them with `anima groups`)"
        }
    }
}
