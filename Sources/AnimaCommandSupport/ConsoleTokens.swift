import AnimaServer
import AnimaWeb
import Foundation

/// The daemon's token store behind the console's tokens view: one file for the console,
/// the daemon's bearer checks and `anima token`.
package struct ConsoleTokens: ConsoleTokenRegistry {
    package let store: TokenStore

    package init(store: TokenStore) { self.store = store }

    package var scopes: [String] { Scope.allCases.map(\.rawValue) }

    package func tokens() async throws -> [ConsoleToken] {
        await store.list().filter { $0.shortLived != true }.map(Self.console)
    }

    package func createToken(name: String, user: String, groups: [String], scopes: [String], lifetime: TimeInterval?) async throws
        -> (secret: String, token: ConsoleToken)
    {
        let parsed = try scopes.map { name in
            guard let scope = Scope(rawValue: name) else {
                throw TokenStoreError.invalid("unknown scope \(name); use \(Scope.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return scope
        }
        let (secret, token) = try await store.create(
            name: name, user: user, groups: groups, scopes: parsed, expires: lifetime.map { Date().addingTimeInterval($0) })
        return (secret, Self.console(token))
    }

    package func revokeToken(id: String) async throws { try await store.revoke(id: id) }

    static func console(_ t: AccessToken) -> ConsoleToken {
        ConsoleToken(
            id: t.id, name: t.name, user: t.user, groups: t.groups, scopes: t.scopes.map(\.rawValue), created: t.created,
            expires: t.expires, revoked: t.revoked)
    }
}
