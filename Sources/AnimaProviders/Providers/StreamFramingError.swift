import AnimaCore
import AnimaProcessor

/// Why a response stream could not be split into its records.
public enum StreamFramingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One record (an event, a line) grew past the limit without ending.
    case recordTooLarge(limit: Int)

    public var description: String {
        switch self {
        case .recordTooLarge(let limit): "a record of the stream is larger than \(limit) bytes"
        }
    }
}
