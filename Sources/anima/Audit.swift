import AnimaCommandSupport
import AnimaCore
import AnimaSecurity
import AnimaServer
import ArgumentParser
import Foundation

/// Where the security files live, and who is asking.
struct SecurityOptions: ParsableArguments {
    @Option(help: "Data directory (default: $XDG_DATA_HOME/anima).") var dataDir: String?

    var directory: String { dataDir.map { ($0 as NSString).expandingTildeInPath } ?? AnimaDirectories.data() }

    /// A chosen data directory is hidden from sandboxes (MCP servers) like the default one.
    func validate() throws {
        if let dataDir { AnimaDirectories.use(data: dataDir) }
    }
    var auditPath: String { directory + "/" + AuditLog.fileName }
    var principalsPath: String { directory + "/" + PrincipalStore.fileName }

    func auditLog() throws -> AuditLog { try AuditLog(path: auditPath) }

    func principals() throws -> PrincipalStore { try PrincipalStore(path: principalsPath, audit: try auditLog()) }

    /// The operator: root when run as the Unix superuser, else the Anima user of the same
    /// login name with their groups from the store (none if the store does not know them).
    func caller() throws -> Principal {
        if getuid() == 0 { return .root }
        let name = NSUserName()
        guard FileManager.default.fileExists(atPath: principalsPath) else { return Principal(name: name) }
        return try PrincipalStore(path: principalsPath).principal(named: name) ?? Principal(name: name)
    }
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read and verify the hash-chained audit log (needs the logs group).",
        discussion: """
            Every syscall, policy decision, guard verdict and change to users and groups is
            one line of the audit log, chained to the line before by SHA-256.

            Examples:
              anima audit verify
              anima audit verify --expect-head 1042:9f2c...e1
              anima audit show --limit 20
            """,
        subcommands: [AuditVerify.self, AuditShow.self]
    )
}

struct AuditVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the chain; name the first record that was edited, removed or moved.",
        discussion: """
            Prints the head (count:hash) of an intact log. Keep it somewhere else and pass
            it back with --expect-head to also detect records cut from the end. Exits with
            status 1 when the log is not intact.
            """
    )

    @OptionGroup var options: SecurityOptions
    @Option(help: "A head printed by an earlier verify (COUNT:HASH) that the log must still contain.")
    var expectHead: String?

    mutating func run() async throws {
        var expected: (UInt64, String)?
        if let expectHead {
            let parts = expectHead.split(separator: ":")
            guard parts.count == 2, let count = UInt64(parts[0]), parts[1].count == 64 else {
                throw ValidationError("--expect-head must be COUNT:HASH as verify prints it, e.g. 1042:9f2c…(64 hex digits)")
            }
            expected = (count, String(parts[1]))
        }
        guard FileManager.default.fileExists(atPath: options.auditPath) else {
            throw ValidationError("no audit log at \(options.auditPath) (pass --data-dir to look elsewhere)")
        }
        let result = try AuditLog.verify(at: options.auditPath, as: try options.caller(), expecting: expected)
        if let problem = result.problem {
            print("TAMPERED: \(problem)")
            print("\(result.intact) records before it are intact")
            throw ExitCode(1)
        }
        print("intact: \(result.intact) records")
        print("head: \(result.intact):\(result.headHash)")
    }
}

struct AuditShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print the latest audit records.")

    @OptionGroup var options: SecurityOptions
    @Option(
        help: NumericFlag.help("How many of the latest records to print.", 1...1_000_000), transform: NumericFlag.integer(1...1_000_000))
    var limit = 50
    @Flag(help: "Print the stored JSON lines as they are.") var json = false

    mutating func run() async throws {
        guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
        guard FileManager.default.fileExists(atPath: options.auditPath) else {
            throw ValidationError("no audit log at \(options.auditPath) (pass --data-dir to look elsewhere)")
        }
        let entries = try AuditLog.entries(at: options.auditPath, as: try options.caller()).suffix(limit)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for e in entries {
            if json {
                print(e.line)
                continue
            }
            var line = "\(e.sequence)  \(formatter.string(from: e.time))  pid \(e.pid)  \(e.owner)  \(e.action)  \(e.outcome.rawValue)"
            if !e.summary.isEmpty { line += "  \(e.summary)" }
            if !e.detail.isEmpty { line += "  (\(e.detail))" }
            print(line)
        }
    }
}
