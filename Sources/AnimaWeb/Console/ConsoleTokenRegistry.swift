import Foundation

/// An API token as the console shows it: never its secret.
public struct ConsoleToken: Sendable, Equatable {
    public var id: String
    public var name: String
    public var user: String
    public var groups: [String]
    public var scopes: [String]
    public var created: Date
    public var expires: Date?
    public var revoked: Date?

    public init(
        id: String, name: String, user: String, groups: [String], scopes: [String], created: Date, expires: Date?, revoked: Date?
    ) {
        self.id = id
        self.name = name
        self.user = user
        self.groups = groups
        self.scopes = scopes
        self.created = created
        self.expires = expires
        self.revoked = revoked
    }

    /// active, revoked or expired.
    public func state(at now: Date = Date()) -> String {
        revoked != nil ? "revoked" : expires.map { $0 <= now } == true ? "expired" : "active"
    }
}

/// The daemon's API tokens, as the console lists, creates and revokes them. The daemon's
/// token store conforms (in `AnimaCommandSupport`, which sees both modules), so the
/// console and `anima token` change one file.
public protocol ConsoleTokenRegistry: Sendable {
    /// Every scope a token may be given.
    var scopes: [String] { get }
    func tokens() async throws -> [ConsoleToken]
    /// Makes a token; returns its secret (shown once, never stored) and its record.
    /// - Parameter lifetime: seconds until it stops working; nil for never.
    func createToken(name: String, user: String, groups: [String], scopes: [String], lifetime: TimeInterval?) async throws -> (
        secret: String, token: ConsoleToken
    )
    func revokeToken(id: String) async throws
}
