import AnimaCore
import Crypto
import Foundation

/// What a bearer token lets its holder do.
public enum Scope: String, Sendable, Hashable, Codable, CaseIterable {
    /// The OpenAI-compatible endpoints.
    case chat
    /// Spawn, list, signal and wait for agent processes.
    case agents
    case memory
    case tools
    /// Read the audit trail.
    case audit
    /// Prometheus metrics.
    case metrics
    /// The MCP endpoint.
    case mcp
}

/// A token as stored: never the secret itself, only its SHA-256.
public struct AccessToken: Sendable, Hashable, Codable {
    /// Public identifier, also the secret's prefix, for listing and revoking.
    public var id: String
    public var name: String
    /// The principal requests with this token act as.
    public var user: String
    public var groups: [String]
    public var scopes: [Scope]
    public var secretHash: String
    public var created: Date
    public var revoked: Date?

    public var principal: Principal { Principal(name: user, groups: Set(groups)) }
    public func allows(_ scope: Scope) -> Bool { revoked == nil && scopes.contains(scope) }
}

/// Bearer tokens in a 0600 JSON file in the data directory, written atomically.
///
/// A secret looks like `anima_<id>_<random>`: the id finds the record, the SHA-256 of the
/// whole secret proves it, compared in constant time.
public actor TokenStore {
    public let file: URL
    private var tokens: [AccessToken]

    public init(directory: URL) throws(TokenStoreError) {
        file = directory.appendingPathComponent("tokens.json")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .unwritable(directory.path, error.localizedDescription)
        }
        if let data = FileManager.default.contents(atPath: file.path) {
            do {
                tokens = try Self.decoder.decode([AccessToken].self, from: data)
            } catch {
                throw .corrupt(file.path, "\(error)")
            }
        } else {
            tokens = []
        }
    }

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    /// Creates a token; returns the secret (shown once) and its record.
    public func create(name: String, user: String, groups: [String], scopes: [Scope]) throws(TokenStoreError) -> (secret: String, token: AccessToken) {
        guard !scopes.isEmpty else { throw .invalid("a token needs at least one scope") }
        guard !user.isEmpty, user.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw .invalid("user names use letters, digits, '-', '_' and '.'")
        }
        let id = Self.randomHex(6)
        let secret = "anima_\(id)_\(Self.randomHex(24))"
        let token = AccessToken(
            id: id, name: name, user: user, groups: groups.sorted(), scopes: scopes, secretHash: Self.hash(secret),
            created: Date(), revoked: nil)
        tokens.append(token)
        try save()
        return (secret, token)
    }

    /// Marks a token revoked; it stops working at once.
    public func revoke(id: String) throws(TokenStoreError) {
        guard let i = tokens.firstIndex(where: { $0.id == id }) else { throw .unknown(id) }
        if tokens[i].revoked == nil {
            tokens[i].revoked = Date()
            try save()
        }
    }

    public func list() -> [AccessToken] { tokens }

    /// The token a secret proves, if it is known and not revoked.
    public func authenticate(_ secret: String) -> AccessToken? {
        let parts = secret.split(separator: "_")
        guard parts.count == 3, parts[0] == "anima", let token = tokens.first(where: { $0.id == parts[1] }) else { return nil }
        guard token.revoked == nil, Self.constantTimeEqual(Self.hash(secret), token.secretHash) else { return nil }
        return token
    }

    /// Reloads from disk, so `anima token revoke` in another process takes effect.
    public func reload() {
        if let data = FileManager.default.contents(atPath: file.path), let loaded = try? Self.decoder.decode([AccessToken].self, from: data) {
            tokens = loaded
        }
    }

    private func save() throws(TokenStoreError) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let tmp = file.deletingLastPathComponent().appendingPathComponent(".tokens.json.\(getpid())")
        do {
            let data = try encoder.encode(tokens)
            guard FileManager.default.createFile(atPath: tmp.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw TokenStoreError.unwritable(tmp.path, "cannot create the file")
            }
            guard rename(tmp.path, file.path) == 0 else { throw TokenStoreError.unwritable(file.path, String(cString: strerror(errno))) }
        } catch let error as TokenStoreError {
            throw error
        } catch {
            throw .unwritable(file.path, error.localizedDescription)
        }
    }

    static func hash(_ secret: String) -> String {
        Hex.encode(SHA256.hash(data: Data(secret.utf8)))
    }

    static func randomHex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

public enum TokenStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case unwritable(String, String)
    case corrupt(String, String)
    case unknown(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .unwritable(let path, let reason): "cannot write \(path): \(reason)"
        case .corrupt(let path, let reason): "the token file \(path) is damaged (\(reason)); restore it from a backup or remove it and create new tokens"
        case .unknown(let id): "no token with id \(id); see `anima token list`"
        case .invalid(let reason): reason
        }
    }
}
