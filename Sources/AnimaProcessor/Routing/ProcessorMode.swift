import AnimaCore

/// How much of the world Anima's processor may use. Switching is a configuration change.
public enum ProcessorMode: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// Only processors on this machine; no network connection is ever made.
    case local
    /// The router chooses per request between local and remote processors.
    case hybrid
    /// Public requests go to remote processors; private ones still stay local.
    case cloud

    public var description: String { rawValue }
}
