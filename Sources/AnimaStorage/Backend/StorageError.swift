/// Why the memory storage could not do what was asked. Each message says what was
/// wrong and what to do about it.
public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidNamespace(String)
    case invalidKey(String)
    case keyFilePermissions(path: String, mode: String)
    /// The key file is gone while memory sealed with it is still there.
    case missingKey(path: String, data: String)
    case wrongKey(String)
    case invalidArgument(String)
    case dimensionMismatch(expected: Int, got: Int)
    case notFound(String)
    case corrupted(String)
    case database(String)
    case vectorIndex(String)
    case closed
    /// Another process has the store open (one writer at a time).
    case locked(directory: String, holder: Int32?)

    /// True when the request itself was wrong (a bad name, argument or vector), so that
    /// asking again unchanged cannot succeed; false for failures of the store.
    public var isBadRequest: Bool {
        switch self {
        case .invalidNamespace, .invalidArgument, .dimensionMismatch: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .invalidNamespace(let reason):
            "invalid memory namespace: \(reason)"
        case .invalidKey(let reason):
            "unusable encryption key: \(reason)"
        case .keyFilePermissions(let path, let mode):
            "the key file \(path) is readable by others (mode \(mode)); run `chmod 600 \(path)` and try again"
        case .missingKey(let path, let data):
            "the memory key \(path) is missing but \(data) holds memory sealed with it; restore the key file from a backup "
                + "(or supply it), or move \(data) aside to start with empty memory. A new key is not made: it could not open that memory"
        case .wrongKey(let what):
            "could not decrypt \(what): the encryption key is not the one this memory was written with; "
                + "use the original key file, or start a new data directory"
        case .invalidArgument(let reason):
            "invalid argument: \(reason)"
        case .dimensionMismatch(let expected, let got):
            "this store holds \(expected)-dimensional vectors but got one of \(got); "
                + "embed with the model the store was created with, or open a new store"
        case .notFound(let what):
            "\(what) was not found"
        case .corrupted(let what):
            "\(what) is damaged; restore it from a backup or erase it"
        case .database(let reason):
            "the memory database failed: \(reason)"
        case .vectorIndex(let reason):
            "the vector index failed: \(reason)"
        case .closed:
            "the memory store has been closed; open it again"
        case .locked(let directory, let holder):
            "the memory in \(directory) is open in another process\(holder.map { " (pid \($0))" } ?? ""), and only one may write it: "
                + "with `anima serve` running on this data directory, memory commands and `anima run --memory` go through it "
                + "(leave out --local); otherwise wait for that process to finish, or stop it"
        }
    }
}
