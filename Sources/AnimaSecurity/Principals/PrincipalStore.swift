import AnimaCore
import Foundation
import Synchronization

/// The users and groups of one Anima installation, kept in `principals.json` in the data
/// directory; groups grant capabilities (`net`, `gpu`, `logs`, `models-cloud`, ...).
///
/// Only root changes the store, and every change is appended to the audit log. Lookups
/// notice when another process (the `anima grant` CLI) has changed the file, so a running
/// kernel applies a revocation on the very next syscall.
public final class PrincipalStore: Sendable {
    public struct Group: Sendable, Hashable, Codable {
        public var description: String
        /// The Linux group it maps onto, if any: sandboxed tools of its members run with
        /// this gid among their supplementary groups (where Anima runs as root).
        public var gid: UInt32?

        public init(description: String, gid: UInt32? = nil) {
            self.description = description
            self.gid = gid
        }
    }

    struct Document: Sendable, Hashable, Codable {
        var users: [String: [String]]
        var groups: [String: Group]
    }

    /// The file name in a data directory.
    public static let fileName = "principals.json"

    /// Groups every new store starts with.
    public static let standardGroups: [String: Group] = [
        "users": Group(description: "ordinary users"),
        "logs": Group(description: "read and verify the audit log"),
        "net": Group(description: "tools that use the network"),
        "gpu": Group(description: "local accelerators"),
        "models-cloud": Group(description: "cloud model providers"),
        "datasets-health": Group(description: "health data sets"),
    ]

    private struct State {
        var document: Document
        var stamp: FileStamp?
    }

    private struct FileStamp: Equatable {
        var modified: timespec
        var size: Int
        /// Saves replace the file, so a new inode means a new version even within one mtime tick.
        var inode: UInt64

        static func == (a: FileStamp, b: FileStamp) -> Bool {
            a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec && a.size == b.size
                && a.inode == b.inode
        }
    }

    public let path: String
    private let audit: AuditLog?
    private let state: Mutex<State>

    /// Opens the store at `path`, creating it (root and the standard groups) if missing.
    public init(path: String, audit: AuditLog? = nil) throws(SecurityError) {
        self.path = path
        self.audit = audit
        if !FileManager.default.fileExists(atPath: path) {
            let fresh = Document(
                users: ["root": ["root"]], groups: Self.standardGroups.merging(["root": Group(description: "the superuser")]) { a, _ in a })
            try Self.save(fresh, to: path)
        }
        let (document, stamp) = try Self.load(path)
        state = Mutex(State(document: document, stamp: stamp))
    }

    /// The groups the user store in `directory` defines, or a fresh store's (the standard
    /// groups and root) when it has none yet; creates nothing.
    public static func groupNames(dataDirectory directory: String) throws(SecurityError) -> Set<String> {
        let path = directory + "/" + fileName
        guard FileManager.default.fileExists(atPath: path) else { return Set(standardGroups.keys).union(["root"]) }
        return Set(try PrincipalStore(path: path).groups.keys)
    }

    /// The principal named `name` with its current groups, or nil if there is no such user.
    public func principal(named name: String) -> Principal? {
        refreshIfChanged()
        return state.withLock { s in s.document.users[name].map { Principal(name: name, groups: Set($0)) } }
    }

    /// Users and their groups, by name.
    public var users: [String: Set<String>] {
        refreshIfChanged()
        return state.withLock { $0.document.users.mapValues(Set.init) }
    }

    /// Groups and what they are for, by name.
    public var groups: [String: Group] {
        refreshIfChanged()
        return state.withLock { $0.document.groups }
    }

    public func addUser(_ name: String, groups: Set<String> = ["users"], by actor: Principal) throws(SecurityError) {
        try change("useradd", "\(name) \(groups.sorted().joined(separator: ","))", by: actor) { (d: inout Document) throws(SecurityError) in
            try Self.checkName(name)
            guard d.users[name] == nil else { throw .invalidName("a user named \(name) already exists") }
            for g in groups where d.groups[g] == nil { throw .noSuchGroup(g) }
            d.users[name] = groups.sorted()
        }
    }

    public func removeUser(_ name: String, by actor: Principal) throws(SecurityError) {
        try change("userdel", name, by: actor) { (d: inout Document) throws(SecurityError) in
            guard name != "root" else { throw .invalidName("root cannot be removed") }
            guard d.users.removeValue(forKey: name) != nil else { throw .noSuchUser(name) }
        }
    }

    public func addGroup(_ name: String, description: String, by actor: Principal) throws(SecurityError) {
        try change("groupadd", name, by: actor) { (d: inout Document) throws(SecurityError) in
            try Self.checkName(name)
            guard d.groups[name] == nil else { throw .invalidName("a group named \(name) already exists") }
            d.groups[name] = Group(description: description)
        }
    }

    /// Removes a group from the store and from every member.
    public func removeGroup(_ name: String, by actor: Principal) throws(SecurityError) {
        try change("groupdel", name, by: actor) { (d: inout Document) throws(SecurityError) in
            guard name != "root" else { throw .invalidName("the root group cannot be removed") }
            guard d.groups.removeValue(forKey: name) != nil else { throw .noSuchGroup(name) }
            for (user, groups) in d.users { d.users[user] = groups.filter { $0 != name } }
        }
    }

    /// Maps `group` onto the Linux group `gid` (nil removes the mapping).
    public func mapGroup(_ name: String, toGID gid: UInt32?, by actor: Principal) throws(SecurityError) {
        try change("groupmap", "\(name) \(gid.map(String.init) ?? "none")", by: actor) { (d: inout Document) throws(SecurityError) in
            guard d.groups[name] != nil else { throw .noSuchGroup(name) }
            if let gid, gid == 0 || gid == UInt32.max {
                throw .invalidName("gid \(gid) cannot be mapped: pick a group that grants only what \(name) means")
            }
            d.groups[name]?.gid = gid
        }
    }

    /// The Linux gids of `groups` that are mapped, sorted.
    public func linuxGroups(of groups: Set<String>) -> [UInt32] {
        let all = self.groups
        return Set(groups.compactMap { all[$0]?.gid }).sorted()
    }

    /// Adds `user` to `group`.
    public func grant(_ group: String, to user: String, by actor: Principal) throws(SecurityError) {
        try change("grant", "\(user) \(group)", by: actor) { (d: inout Document) throws(SecurityError) in
            guard let current = d.users[user] else { throw .noSuchUser(user) }
            guard d.groups[group] != nil else { throw .noSuchGroup(group) }
            d.users[user] = Array(Set(current + [group])).sorted()
        }
    }

    /// Removes `user` from `group`; running processes lose it on their next syscall.
    public func revoke(_ group: String, from user: String, by actor: Principal) throws(SecurityError) {
        try change("revoke", "\(user) \(group)", by: actor) { (d: inout Document) throws(SecurityError) in
            guard let current = d.users[user] else { throw .noSuchUser(user) }
            guard current.contains(group) else { throw .invalidName("\(user) is not in group \(group)") }
            guard !(user == "root" && group == "root") else { throw .invalidName("root keeps the root group") }
            d.users[user] = current.filter { $0 != group }
        }
    }

    /// Applies one change as `actor` (root only), saves it, and audits it (denials too).
    private func change(
        _ action: String, _ summary: String, by actor: Principal, _ edit: (inout Document) throws(SecurityError) -> Void
    ) throws(SecurityError) {
        refreshIfChanged()
        let result: Result<Void, SecurityError> = state.withLock { s in
            guard actor.isRoot else {
                return .failure(.permissionDenied("only root manages users and groups; \(actor.name) is not root"))
            }
            var document = s.document
            do throws(SecurityError) {
                try edit(&document)
                try Self.save(document, to: path)
                s.document = document
                s.stamp = Self.stamp(path)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success:
            try audit?.append(pid: 1, owner: actor.name, action: action, summary: summary, outcome: .completed)
        case .failure(let error):
            try audit?.append(pid: 1, owner: actor.name, action: action, summary: summary, outcome: .denied, detail: error.description)
            throw error
        }
    }

    private func refreshIfChanged() {
        let current = Self.stamp(path)
        let stale = state.withLock { $0.stamp != current }
        guard stale, let (document, stamp) = try? Self.load(path) else { return }
        state.withLock { s in
            s.document = document
            s.stamp = stamp
        }
    }

    private static func stamp(_ path: String) -> FileStamp? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileStamp(modified: info.st_mtim, size: Int(info.st_size), inode: UInt64(info.st_ino))
    }

    private static func load(_ path: String) throws(SecurityError) -> (Document, FileStamp?) {
        let stamp = stamp(path)
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .io(path: path, reason: "cannot read the user store: \(DurableFile.reason(of: error))")
        }
        do {
            return (try JSONDecoder().decode(Document.self, from: data), stamp)
        } catch {
            throw .malformed(
                path: path, reason: "expected {\"users\": {name: [groups]}, \"groups\": {name: {\"description\": ...}}} (\(error))")
        }
    }

    private static func save(_ document: Document, to path: String) throws(SecurityError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            // Names and groups, no secrets: readable like before, but durable.
            try DurableFile.write(try encoder.encode(document), to: URL(fileURLWithPath: path), mode: 0o644)
        } catch let error as DurableFileError {
            throw .io(path: path, reason: "cannot write the user store: \(error.description)")
        } catch {
            throw .io(path: path, reason: "cannot write the user store: \(DurableFile.reason(of: error))")
        }
    }

    /// Whether `name` may name a user or a group: 1-64 of a-z, 0-9, '-', '_' or '.', not leading '-'.
    public static func checkName(_ name: String) throws(SecurityError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-_.")
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ allowed.contains($0) }), name.first != "-" else {
            throw .invalidName(
                "\"\(name)\" is not a valid name: use 1-64 lower-case letters, digits, '-', '_' or '.', not starting with '-'")
        }
    }
}
