/// A process identifier, unique within one kernel. PID 1 is never an agent: it is the
/// kernel's own identity for operator actions (init).
public struct PID: RawRepresentable, Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ value: UInt32) { rawValue = value }

    public static let kernel = PID(1)
    public var description: String { String(rawValue) }
    public static func < (a: PID, b: PID) -> Bool { a.rawValue < b.rawValue }
}
