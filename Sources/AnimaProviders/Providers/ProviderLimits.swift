import AnimaCore
import AnimaProcessor

/// How long Anima waits for a provider and how much it accepts from one, so that a slow,
/// stuck or misbehaving server costs a bounded amount of time and memory.
public struct ProviderLimits: Sendable, Hashable, Codable {
    /// Seconds to open a connection. Default 10.
    public var connectTimeout: Double
    /// Seconds from sending a request to the start of its answer. Default 120, because
    /// a large model may think for a while before its first token.
    public var responseTimeout: Double
    /// Seconds the server may stay silent in the middle of a stream. Default 120.
    public var idleTimeout: Double
    /// The largest single stream event (or line) accepted, in bytes. Default 4 MiB.
    public var maxEventBytes: Int
    /// The largest whole response accepted, in bytes. Default 64 MiB.
    public var maxResponseBytes: Int

    public init(
        connectTimeout: Double = 10, responseTimeout: Double = 120, idleTimeout: Double = 120,
        maxEventBytes: Int = 4 << 20, maxResponseBytes: Int = 64 << 20
    ) {
        self.connectTimeout = connectTimeout
        self.responseTimeout = responseTimeout
        self.idleTimeout = idleTimeout
        self.maxEventBytes = maxEventBytes
        self.maxResponseBytes = maxResponseBytes
    }

    var problem: String? {
        if !(connectTimeout > 0) || !(responseTimeout > 0) || !(idleTimeout > 0) { return "timeouts must be above 0 seconds" }
        if maxEventBytes < 1024 || maxResponseBytes < maxEventBytes {
            return "the event limit must be at least 1024 bytes and no larger than the response limit"
        }
        return nil
    }
}
