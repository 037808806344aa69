/// Why a tool could not do what was asked, said so the agent (or its user) can act on it.
public enum ToolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The arguments were well-formed JSON but meaningless to the tool.
    case invalidArgument(String)
    /// A path left the workspace or does not exist.
    case path(String)
    /// The sandbox could not be created; the tool refuses to run without it.
    case sandboxUnavailable(String)
    /// The tool ran and failed.
    case failed(String)

    public var description: String {
        switch self {
        case .invalidArgument(let m): "invalid argument: \(m)"
        case .path(let m): m
        case .sandboxUnavailable(let m): "the sandbox could not be created, so the tool refused to run: \(m)"
        case .failed(let m): m
        }
    }
}
