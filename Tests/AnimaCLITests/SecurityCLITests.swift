import Foundation
import Testing

/// `anima users|groups|grant|revoke` and `anima audit` on a fresh data directory. Changes
/// need root, so these run when the tests do.
@Suite("Security commands", .enabled(if: getuid() == 0, "changing users and groups needs root"))
struct SecurityCLITests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anima-sec-cli-\(UUID().uuidString)").path

    func anima(_ arguments: String...) throws -> CLI.Result {
        try CLI.run(arguments + ["--data-dir", dir])
    }

    @Test func usersAndGroupsAreManagedAndEveryChangeAudited() throws {
        #expect(try anima("users", "add", "alice", "--groups", "users,net").status == 0)
        #expect(try anima("grant", "alice", "logs").status == 0)
        #expect(try anima("revoke", "alice", "net").status == 0)
        let users = try anima("users")
        #expect(users.stdout.contains("alice") && users.stdout.contains("logs,users"))
        let bad = try anima("grant", "alice", "no-such-group")
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("no group named no-such-group"))
        #expect(try anima("groups").stdout.contains("logs"))

        let show = try anima("audit", "show")
        let actions = show.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(actions.count == 4, "\(show.stdout)")
        #expect(show.stdout.contains("useradd") && show.stdout.contains("grant") && show.stdout.contains("revoke"))
        #expect(show.stdout.contains("denied"))

        let verify = try anima("audit", "verify")
        #expect(verify.status == 0)
        #expect(verify.stdout.contains("intact: 4 records"))
    }

    @Test func verifyNamesTheFirstTamperedRecordAndFails() throws {
        for name in ["a", "b", "c"] { _ = try anima("users", "add", name) }
        let path = dir + "/audit.log"
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[1] = lines[1].replacingOccurrences(of: "useradd", with: "userdel")
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        let verify = try anima("audit", "verify")
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("TAMPERED: line 2 (record 2)"), "\(verify.stdout)")
    }

    @Test func aBadHeadIsRefusedClearly() throws {
        _ = try anima("users", "add", "d")
        let result = try anima("audit", "verify", "--expect-head", "nonsense")
        #expect(result.status != 0)
        #expect(result.stderr.contains("--expect-head must be COUNT:HASH"))
    }
}
