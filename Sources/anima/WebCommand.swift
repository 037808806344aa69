import AnimaCommandSupport
import AnimaCore
import AnimaSecurity
import AnimaWeb
import ArgumentParser
import Foundation

struct WebCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "web",
        abstract: "The web console: enroll passkeys, list and revoke browser sessions.",
        discussion: """
            The daemon serves the console at / on its API port (http://localhost:8420 by
            default; passkeys need the host name localhost or a real domain, not an IP
            address). Sign-in is by passkey only. The first passkey of a user is registered
            with a one-time code from `anima web enroll`, valid for 10 minutes and once.
            A passkey acts as the user and groups it was enrolled with, as a token does.
            Set the host name people use when it is not localhost with the config key
            web_rp_id (or ANIMA_WEB_RP_ID, or `anima serve --web-rp-id`), and origins such
            as a reverse proxy's with web_origins (comma-separated). Both commands write
            what they did to the audit log (never the code itself).

            Examples:
              anima web enroll
              sudo anima web enroll --user alice --group users --group net
              anima web sessions
              anima web sessions --revoke 3fa1c2d4e5b6a7f8
            """,
        subcommands: [WebEnroll.self, WebSessions.self]
    )
}

extension DataDirectoryOption {
    func consoleStore() throws -> ConsoleStore {
        try ConsoleStore(directory: URL(fileURLWithPath: directory))
    }

    var directory: String { dataDir.map { ($0 as NSString).expandingTildeInPath } ?? AnimaDirectories.data() }

    /// Records what `anima web` did in the data directory's audit log, as the daemon's
    /// console records its own sign-ins: the kernel's chain, no secrets.
    func audit(_ action: String, user: String, _ summary: String) throws {
        let log = try AuditLog(dataDirectory: directory)
        log.append(AuditRecord(sequence: 0, time: Date(), pid: .kernel, owner: user, syscall: action, summary: summary, outcome: .completed))
        log.close()
        if let failure = log.failure { throw ValidationError("the audit log could not be written: \(failure)") }
    }
}

struct WebEnroll: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll", abstract: "Print a one-time code that lets one passkey be registered in the console.")
    @Option(help: "The user the passkey signs in as (default: you; another user needs root).") var user: String?
    @Option(help: "A group the user holds (repeatable).") var group: [String] = ["users"]
    @OptionGroup var data: DataDirectoryOption

    mutating func run() async throws {
        let me = NSUserName()
        let user = user ?? (getuid() == 0 ? "root" : me)
        if getuid() != 0 && user != me {
            throw ValidationError("only root can enroll a passkey for another user (\(user)); run it as \(user), or with sudo")
        }
        let store = try data.consoleStore()
        let (code, record) = try await store.enroll(user: user, groups: group)
        try data.audit(
            "console-enroll", user: me,
            "enrollment code \(record.id) for \(record.user) (\(record.groups.joined(separator: ","))) printed, valid until \(ISO8601DateFormatter().string(from: record.expires))"
        )
        print(code)
        Terminal.error(
            "enrollment code for \(record.user) (\(record.groups.joined(separator: ","))), valid until \(ISO8601DateFormatter().string(from: record.expires)) and once: open the console's /web/enroll page and enter it\n"
        )
    }
}

struct WebSessions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sessions", abstract: "List signed-in browser sessions, or revoke one.")
    @Option(help: "The id of a session to end now.") var revoke: String?
    @OptionGroup var data: DataDirectoryOption

    mutating func run() async throws {
        let store = try data.consoleStore()
        if let revoke {
            try await store.revoke(session: revoke)
            try data.audit("console-revoke", user: NSUserName(), "session \(revoke) revoked from the command line")
            Terminal.error("session \(revoke) revoked; its browser is signed out at its next request\n")
            return
        }
        let format = ISO8601DateFormatter()
        print("ID                USER            SIGNED IN              LAST SEEN              STATE")
        for s in await store.sessions().sorted(by: { $0.created < $1.created }) {
            let state = s.revoked != nil ? "revoked" : (await store.check(id: s.id) ?? "active")
            print(
                s.id.padding(toLength: 18, withPad: " ", startingAt: 0) + s.user.padding(toLength: 16, withPad: " ", startingAt: 0)
                    + format.string(from: s.created).padding(toLength: 23, withPad: " ", startingAt: 0)
                    + format.string(from: s.lastSeen).padding(toLength: 23, withPad: " ", startingAt: 0) + state)
        }
    }
}
