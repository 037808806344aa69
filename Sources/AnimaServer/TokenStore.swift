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
    /// Add, run, inspect and cancel workflows.
    case workflows
    /// Speech to text and text to speech (`/v1/audio/...`).
    case audio
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
    /// When it stops working; nil only when its creator asked for `never`.
    public var expires: Date?
    /// Minted by the CLI for one command: dropped from the file once expired, so they do
    /// not pile up.
    public var shortLived: Bool?

    public var principal: Principal { Principal(name: user, groups: Set(groups)) }
    public func allows(_ scope: Scope, at now: Date = Date()) -> Bool { isActive(at: now) && scopes.contains(scope) }
    public func isExpired(at now: Date = Date()) -> Bool { expires.map { $0 <= now } ?? false }
    public func isActive(at now: Date = Date()) -> Bool { revoked == nil && !isExpired(at: now) }
}

/// What a presented secret turned out to be.
public enum TokenCheck: Sendable, Equatable {
    case valid(AccessToken)
    /// Unknown, malformed or the wrong secret: nothing more is said.
    case invalid
    case revoked
    case expired(Date)
}

/// Bearer tokens in a 0600 JSON file in the data directory.
///
/// A secret looks like `anima_<id>_<random>`: the id finds the record, the SHA-256 of the
/// whole secret proves it, compared in constant time.
///
/// Several processes share the file (the daemon, `anima token`, the CLI minting its
/// short-lived tokens), so a change is a locked read-modify-write: lock `tokens.json.lock`,
/// re-read, change, write durably. Only the writer that changed something writes. Readers
/// notice a new version by its inode, size and mtime before each authentication, so a
/// revocation reaches a running daemon at its next request.
public actor TokenStore {
    public let file: URL
    let lockFile: URL
    private var tokens: [AccessToken]
    private var version: DurableFile.Version?

    public init(directory: URL) throws(TokenStoreError) {
        file = directory.appendingPathComponent("tokens.json")
        lockFile = directory.appendingPathComponent("tokens.json.lock")
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .unwritable(directory.path, DurableFile.reason(of: error))
        }
        version = DurableFile.Version.of(file)
        tokens = try Self.load(file)
    }

    static func load(_ file: URL) throws(TokenStoreError) -> [AccessToken] {
        let data: Data?
        do { data = try DurableFile.read(file) } catch { throw .file(error.description) }
        guard let data else { return [] }
        do {
            return try Self.decoder.decode([AccessToken].self, from: data)
        } catch {
            throw .corrupt(file.path, "\(error)")
        }
    }

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    /// How long a token lives unless its creator says otherwise.
    public static let defaultLifetime: TimeInterval = 90 * 24 * 3600

    /// Creates a token; returns the secret (shown once) and its record.
    /// - Parameters:
    ///   - expires: when it stops working; nil for never. Defaults to 90 days from now.
    ///   - shortLived: a CLI token for one command, removed from the file once expired.
    public func create(
        name: String, user: String, groups: [String], scopes: [Scope],
        expires: Date? = Date().addingTimeInterval(TokenStore.defaultLifetime),
        shortLived: Bool = false
    ) throws(TokenStoreError) -> (secret: String, token: AccessToken) {
        guard !scopes.isEmpty else { throw .invalid("a token needs at least one scope") }
        guard !user.isEmpty, user.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw .invalid("user names use letters, digits, '-', '_' and '.'")
        }
        if let expires, expires <= Date() { throw .invalid("the expiry \(expires) is already past; give a time in the future or `never`") }
        let id = Self.randomHex(6)
        let secret = "anima_\(id)_\(Self.randomHex(24))"
        let token = AccessToken(
            id: id, name: name, user: user, groups: groups.sorted(), scopes: scopes, secretHash: Self.hash(secret),
            created: Date(), revoked: nil, expires: expires, shortLived: shortLived ? true : nil)
        try update { tokens in tokens.append(token) }
        return (secret, token)
    }

    /// Marks a token revoked; every process using the file stops accepting it at its next request.
    public func revoke(id: String) throws(TokenStoreError) {
        try update { tokens throws(TokenStoreError) in
            guard let i = tokens.firstIndex(where: { $0.id == id }) else { throw .unknown(id) }
            if tokens[i].revoked == nil { tokens[i].revoked = Date() }
        }
    }

    /// Revokes the all-scopes `local-cli` tokens that daemons before token expiry made for
    /// the CLI and published in the discovery file: one left by a crash never expired.
    /// Writes only when there is one. Returns how many were revoked.
    @discardableResult
    public func revokeLegacyCLITokens() throws(TokenStoreError) -> Int {
        refreshIfChanged()
        guard tokens.contains(where: Self.isLegacyCLIToken) else { return 0 }
        var revoked = 0
        try update { tokens in
            for i in tokens.indices where Self.isLegacyCLIToken(tokens[i]) {
                tokens[i].revoked = Date()
                revoked += 1
            }
        }
        return revoked
    }

    static func isLegacyCLIToken(_ token: AccessToken) -> Bool {
        token.name == "local-cli" && token.revoked == nil && token.expires == nil && token.shortLived == nil
    }

    public func list() -> [AccessToken] {
        refreshIfChanged()
        return tokens
    }

    /// What the secret is: a valid token, or why not.
    public func check(_ secret: String) -> TokenCheck {
        refreshIfChanged()
        let parts = secret.split(separator: "_")
        guard parts.count == 3, parts[0] == "anima", let token = tokens.first(where: { $0.id == parts[1] }),
            Self.constantTimeEqual(Self.hash(secret), token.secretHash)
        else { return .invalid }
        if token.revoked != nil { return .revoked }
        if let expires = token.expires, expires <= Date() { return .expired(expires) }
        return .valid(token)
    }

    /// The token a secret proves, if it is known, not revoked and not expired.
    public func authenticate(_ secret: String) -> AccessToken? {
        if case .valid(let token) = check(secret) { return token }
        return nil
    }

    /// Re-reads the file when its version changed since the last read. A file that cannot
    /// be read or parsed keeps the last good list (a writer never leaves it torn, so this
    /// is a damaged disk or a hand edit, and the next good write is picked up).
    private func refreshIfChanged() {
        let now = DurableFile.Version.of(file)
        guard now != version else { return }
        if let loaded = try? Self.load(file) {
            tokens = loaded
            version = now
        }
    }

    /// The locked read-modify-write: re-read under the lock, change, write durably.
    private func update(_ change: (inout [AccessToken]) throws(TokenStoreError) -> Void) throws(TokenStoreError) {
        let file = file
        do {
            tokens = try DurableFile.withLock(lockFile) {
                var current = try Self.load(file)
                try change(&current)
                let now = Date()
                current.removeAll { $0.shortLived == true && $0.isExpired(at: now) }
                let encoder = JSONEncoder()
                encoder.dateEncodingStrategy = .iso8601
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try DurableFile.write(try encoder.encode(current), to: file)
                return current
            }
            version = DurableFile.Version.of(file)
        } catch let error as TokenStoreError {
            throw error
        } catch let error as DurableFileError {
            throw .file(error.description)
        } catch {
            throw .unwritable(file.path, "\(error)")
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
    case file(String)

    public var description: String {
        switch self {
        case .unwritable(let path, let reason): "cannot write \(path): \(reason)"
        case .corrupt(let path, let reason):
            "the token file \(path) is damaged (\(reason)); restore it from a backup or remove it and create new tokens"
        case .unknown(let id): "no token with id \(id); see `anima token list`"
        case .invalid(let reason): reason
        case .file(let reason): reason
        }
    }
}
