import Foundation

/// The record of one installed package: what was verified and what the user granted.
public struct InstalledPackage: Sendable, Codable, Hashable {
    public var name: String
    public var version: String
    public var publisher: String
    public var kind: String
    /// Every permission the manifest asked for.
    public var requested: [String]
    /// The permissions the user accepted; the package's agents and tools run with these only.
    public var granted: [String]
    public var rootDigest: String
    public var signerHint: String
    /// The registry (or file) it came from.
    public var source: String
    public var installedAt: Date

    /// The groups a process of this package runs with: exactly the granted permissions,
    /// effects by the kernel group that unlocks them (`network` is the tools' `net`).
    public var processGroups: Set<String> { Set(granted.map { Self.kernelGroup[$0] ?? $0 }) }

    /// Effects whose kernel group has another name.
    static let kernelGroup = ["network": "net"]
}
