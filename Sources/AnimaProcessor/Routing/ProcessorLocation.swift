import AnimaCore

/// Where a processor runs, as far as privacy is concerned.
public enum ProcessorLocation: String, Sendable, Hashable, Codable, CustomStringConvertible {
    /// On this machine: the local engine, or a server on a loopback address.
    case local
    /// Anywhere else: a cloud API, or a server elsewhere on the network.
    case remote

    public var description: String { rawValue }
}
