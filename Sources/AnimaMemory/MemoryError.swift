/// Why the memory layer could not do what was asked. Each message says what was wrong
/// and what to do about it.
public enum MemoryError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidConfiguration(String)
    case unknownBlock(label: String, known: [String])
    case blockFull(label: String, tokens: Int, limit: Int)
    case textNotFound(label: String, text: String)
    case doesNotFit(String)
    case invalidArguments(function: String, reason: String)
    case unknownFunction(String, known: [String])
    case summariserFailed(String)
    /// The request was wrong (a bad agent name, tag or argument); say it differently.
    case invalidRequest(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let reason):
            "invalid memory configuration: \(reason)"
        case .unknownBlock(let label, let known):
            "there is no core memory block \"\(label)\"; the blocks are: \(known.joined(separator: ", "))"
        case .blockFull(let label, let tokens, let limit):
            "core memory block \"\(label)\" would hold \(tokens) tokens but its limit is \(limit); "
                + "replace or shorten what it holds, or move details to archival memory with archival_insert"
        case .textNotFound(let label, let text):
            "core memory block \"\(label)\" does not contain \"\(text)\"; quote the exact text to replace"
        case .doesNotFit(let reason):
            "the context window cannot hold this: \(reason)"
        case .invalidArguments(let function, let reason):
            "\(function): \(reason)"
        case .unknownFunction(let name, let known):
            "there is no memory function \"\(name)\"; the functions are: \(known.joined(separator: ", "))"
        case .summariserFailed(let reason):
            "the summariser could not summarise evicted messages: \(reason)"
        case .invalidRequest(let reason):
            reason
        }
    }
}
