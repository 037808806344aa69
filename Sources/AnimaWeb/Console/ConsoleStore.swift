import AnimaCore
import Crypto
import Foundation

/// A registered passkey and the principal it signs in as.
public struct Passkey: Sendable, Codable, Equatable {
    /// The credential id, base64url.
    public var id: String
    public var user: String
    public var groups: [String]
    /// The COSE public key, base64url.
    public var publicKey: String
    public var signCount: UInt32
    /// The WebAuthn user handle, base64url: random, never the user's name.
    public var userHandle: String
    public var attestation: String
    public var created: Date
    public var lastUsed: Date?

    public var principal: Principal { Principal(name: user, groups: Set(groups)) }

    /// A passkey as registration verified it; `user` and `groups` come from the enrollment code.
    public init(id: String, publicKey: String, signCount: UInt32, userHandle: String, attestation: String, created: Date = Date()) {
        self.id = id
        user = ""
        groups = []
        self.publicKey = publicKey
        self.signCount = signCount
        self.userHandle = userHandle
        self.attestation = attestation
        self.created = created
    }
}

/// A one-time code from `anima web enroll`: lets one passkey be registered for a principal.
public struct EnrollmentCode: Sendable, Codable, Equatable {
    public var id: String
    public var codeHash: String
    public var user: String
    public var groups: [String]
    public var expires: Date
    public var used: Date?
}

/// A signed-in browser. Only the SHA-256 of its secret is kept.
public struct ConsoleSession: Sendable, Codable, Equatable {
    /// Public identifier, also the cookie's prefix: for listing and revoking.
    public var id: String
    public var secretHash: String
    public var user: String
    public var groups: [String]
    public var passkey: String
    public var created: Date
    public var lastSeen: Date
    public var revoked: Date?

    public var principal: Principal { Principal(name: user, groups: Set(groups)) }
}

/// How long sessions and codes live.
public struct ConsoleLifetimes: Sendable {
    /// A session unused this long ends.
    public var idle: TimeInterval = 30 * 60
    /// A session ends this long after sign-in, used or not.
    public var absolute: TimeInterval = 12 * 3600
    /// An enrollment code must be used within this.
    public var enrollment: TimeInterval = 10 * 60
    public init() {}
}

/// What a session cookie turned out to be.
public enum SessionCheck: Sendable, Equatable {
    case valid(ConsoleSession)
    case invalid
    case revoked
    case expired
}

/// Why the console's state could not be read or changed.
public enum ConsoleStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case file(String)
    case corrupt(String, String)
    case invalid(String)
    case unknownSession(String)
    case badCode

    public var description: String {
        switch self {
        case .file(let reason): reason
        case .corrupt(let path, let reason):
            "the console file \(path) is damaged (\(reason)); restore it from a backup, or remove it and enroll passkeys again"
        case .invalid(let reason): reason
        case .unknownSession(let id): "no console session with id \(id); see `anima web sessions`"
        case .badCode: "the enrollment code is wrong, used or expired; print a new one with `anima web enroll`"
        }
    }
}

/// Passkeys, enrollment codes and sessions in one 0600 JSON file in the data directory.
///
/// The daemon and `anima web` share the file, so each change is a locked
/// read-modify-write (like the token store), and reads notice a newer file by its
/// version. Secrets (session cookies, enrollment codes) are kept only as SHA-256.
public actor ConsoleStore {
    struct State: Codable {
        var passkeys: [Passkey] = []
        var enrollments: [EnrollmentCode] = []
        var sessions: [ConsoleSession] = []
    }

    public nonisolated let file: URL
    let lockFile: URL
    public nonisolated let lifetimes: ConsoleLifetimes
    private var state = State()
    private var version: DurableFile.Version?
    private let now: @Sendable () -> Date

    public init(
        directory: URL, lifetimes: ConsoleLifetimes = ConsoleLifetimes(), now: @escaping @Sendable () -> Date = { Date() }
    ) throws(ConsoleStoreError) {
        file = directory.appendingPathComponent("console.json")
        lockFile = directory.appendingPathComponent("console.json.lock")
        self.lifetimes = lifetimes
        self.now = now
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .file("cannot create \(directory.path): \(DurableFile.reason(of: error))")
        }
        version = DurableFile.Version.of(file)
        state = try Self.load(file)
    }

    // MARK: enrollment

    /// Makes a one-time code for `user`; returns the code (shown once) and its record.
    public func enroll(user: String, groups: [String]) throws(ConsoleStoreError) -> (code: String, record: EnrollmentCode) {
        guard !user.isEmpty, user.count <= 64, user.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw .invalid("user names use letters, digits, '-', '_' and '.'")
        }
        let id = Self.randomHex(4)
        // 80 random bits in groups of four, easy to type from one terminal to one browser.
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        let body = String((0..<16).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
        let code = "\(id)-" + stride(from: 0, to: 16, by: 4).map { i in String(Array(body)[i..<i + 4]) }.joined(separator: "-")
        let record = EnrollmentCode(
            id: id, codeHash: Self.hash(code), user: user, groups: groups.sorted(), expires: now().addingTimeInterval(lifetimes.enrollment))
        try update { state in state.enrollments.append(record) }
        return (code, record)
    }

    /// The enrollment a code stands for, if it is right, unused and unexpired. Does not use it.
    public func enrollment(code: String) -> EnrollmentCode? {
        refresh()
        let code = Self.normalize(code)
        guard let id = code.split(separator: "-").first,
            let record = state.enrollments.first(where: { $0.id == id }),
            constantTimeEqual(Array(Self.hash(code).utf8), Array(record.codeHash.utf8)),
            record.used == nil, record.expires > now()
        else { return nil }
        return record
    }

    /// Uses the code and stores the passkey it let register, in one write.
    public func register(_ passkey: Passkey, code: String) throws(ConsoleStoreError) -> Passkey {
        let hash = Self.hash(Self.normalize(code))
        let now = now()
        var stored = passkey
        try update { state throws(ConsoleStoreError) in
            guard let i = state.enrollments.firstIndex(where: { constantTimeEqual(Array($0.codeHash.utf8), Array(hash.utf8)) }),
                state.enrollments[i].used == nil, state.enrollments[i].expires > now
            else { throw .badCode }
            guard !state.passkeys.contains(where: { $0.id == passkey.id }) else { throw .invalid("this passkey is already registered") }
            state.enrollments[i].used = now
            stored.user = state.enrollments[i].user
            stored.groups = state.enrollments[i].groups
            state.passkeys.append(stored)
        }
        return stored
    }

    public func passkey(id: String) -> Passkey? {
        refresh()
        return state.passkeys.first { $0.id == id }
    }

    public func passkeys() -> [Passkey] {
        refresh()
        return state.passkeys
    }

    /// Stores the sign count a sign-in reported. Refuses one that went backwards since it
    /// was checked (two sign-ins racing with a cloned key).
    public func recordSignIn(passkey id: String, signCount: UInt32) throws(ConsoleStoreError) {
        let now = now()
        try update { state throws(ConsoleStoreError) in
            guard let i = state.passkeys.firstIndex(where: { $0.id == id }) else { throw .invalid("the passkey was removed") }
            if signCount != 0 || state.passkeys[i].signCount != 0, signCount <= state.passkeys[i].signCount {
                throw .invalid("the sign count did not grow")
            }
            state.passkeys[i].signCount = signCount
            state.passkeys[i].lastUsed = now
        }
    }

    // MARK: sessions

    /// Starts a session for `passkey`; returns the cookie secret (never stored) and the record.
    /// Always a fresh id: a cookie the browser brought is never adopted (session fixation).
    public func startSession(for passkey: Passkey) throws(ConsoleStoreError) -> (secret: String, session: ConsoleSession) {
        let id = Self.randomHex(8)
        let secret = "\(id).\(Self.randomHex(32))"
        let now = now()
        let session = ConsoleSession(
            id: id, secretHash: Self.hash(secret), user: passkey.user, groups: passkey.groups, passkey: passkey.id, created: now,
            lastSeen: now, revoked: nil)
        try update { state in state.sessions.append(session) }
        return (secret, session)
    }

    /// What a cookie secret is; a valid one's last use is moved forward (written at most
    /// once a minute, so reading pages does not write the disk each time).
    public func check(secret: String) -> SessionCheck {
        refresh()
        let parts = secret.split(separator: ".")
        guard parts.count == 2, let i = state.sessions.firstIndex(where: { $0.id == parts[0] }),
            constantTimeEqual(Array(Self.hash(secret).utf8), Array(state.sessions[i].secretHash.utf8))
        else { return .invalid }
        let session = state.sessions[i]
        if session.revoked != nil { return .revoked }
        let now = now()
        if now.timeIntervalSince(session.lastSeen) > lifetimes.idle || now.timeIntervalSince(session.created) > lifetimes.absolute {
            return .expired
        }
        if now.timeIntervalSince(session.lastSeen) > 60 {
            let id = session.id
            try? update { state in
                if let j = state.sessions.firstIndex(where: { $0.id == id }) { state.sessions[j].lastSeen = now }
            }
        }
        return .valid(session)
    }

    /// Why the session `id` no longer works (`expired`), or nil while it is within its lifetimes.
    public func check(id: String) -> String? {
        guard let session = state.sessions.first(where: { $0.id == id }) else { return "unknown" }
        let now = now()
        if session.revoked != nil { return "revoked" }
        if now.timeIntervalSince(session.lastSeen) > lifetimes.idle || now.timeIntervalSince(session.created) > lifetimes.absolute {
            return "expired"
        }
        return nil
    }

    public func sessions() -> [ConsoleSession] {
        refresh()
        return state.sessions
    }

    /// Ends a session at once: every process sharing the file refuses it at its next request.
    public func revoke(session id: String) throws(ConsoleStoreError) {
        let now = now()
        try update { state throws(ConsoleStoreError) in
            guard let i = state.sessions.firstIndex(where: { $0.id == id }) else { throw .unknownSession(id) }
            if state.sessions[i].revoked == nil { state.sessions[i].revoked = now }
        }
    }

    /// The CSRF token of a session: an HMAC of its secret, so nothing more is stored and
    /// another session's token never fits.
    public nonisolated static func csrfToken(secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("anima-console-csrf".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return Base64URL.encode(Array(mac))
    }

    // MARK: file

    static func load(_ file: URL) throws(ConsoleStoreError) -> State {
        let data: Data?
        do { data = try DurableFile.read(file) } catch { throw .file(error.description) }
        guard let data else { return State() }
        do { return try decoder.decode(State.self, from: data) } catch { throw .corrupt(file.path, "\(error)") }
    }

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    private func refresh() {
        let current = DurableFile.Version.of(file)
        guard current != version else { return }
        if let loaded = try? Self.load(file) {
            state = loaded
            version = current
        }
    }

    /// Locked read-modify-write; drops sessions and codes long past use so the file stays small.
    private func update(_ change: (inout State) throws(ConsoleStoreError) -> Void) throws(ConsoleStoreError) {
        let file = file
        let now = now()
        let lifetimes = lifetimes
        do {
            state = try DurableFile.withLock(lockFile) {
                var current = try Self.load(file)
                try change(&current)
                let keep = now.addingTimeInterval(-7 * 24 * 3600)
                current.enrollments.removeAll { $0.expires < keep }
                current.sessions.removeAll { $0.created.addingTimeInterval(lifetimes.absolute) < keep }
                let encoder = JSONEncoder()
                encoder.dateEncodingStrategy = .iso8601
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try DurableFile.write(try encoder.encode(current), to: file)
                return current
            }
            version = DurableFile.Version.of(file)
        } catch let error as ConsoleStoreError {
            throw error
        } catch let error as DurableFileError {
            throw .file(error.description)
        } catch {
            throw .file("cannot write \(file.path): \(error)")
        }
    }

    static func normalize(_ code: String) -> String {
        code.uppercased().filter { !$0.isWhitespace }.replacingOccurrences(of: "_", with: "-").lowercasedPrefixID()
    }

    static func hash(_ secret: String) -> String { Hex.encode(SHA256.hash(data: Data(secret.utf8))) }

    static func randomHex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}

extension String {
    /// The code's id part is lower-case hex; the rest is upper-case.
    fileprivate func lowercasedPrefixID() -> String {
        guard let dash = firstIndex(of: "-") else { return self }
        return self[..<dash].lowercased() + self[dash...]
    }
}
