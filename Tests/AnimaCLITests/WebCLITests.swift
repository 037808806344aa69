import Foundation
import Testing

/// `anima web`: what it does to the console's sessions and codes is in the kernel's audit
/// log, with no secret in it.
@Suite struct WebCLITests {
    @Test func enrollAndRevokeAreAuditedWithoutTheirSecrets() throws {
        let data = NSTemporaryDirectory() + "anima-web-cli-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: data) }
        let enrolled = try CLI.run(["web", "enroll", "--data-dir", data])
        #expect(enrolled.status == 0, "\(enrolled.stderr)")
        let code = enrolled.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = code.split(separator: "-")
        #expect(parts.count == 5, "\(code)")

        // A session as the daemon writes one, to revoke.
        let now = ISO8601DateFormatter().string(from: Date())
        let state = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: data + "/console.json"))) as? [String: Any])
        var sessions = state
        sessions["sessions"] = [
            [
                "id": "0123456789abcdef", "secretHash": String(repeating: "0", count: 64), "user": NSUserName(), "groups": ["users"],
                "passkey": "pk", "created": now, "lastSeen": now,
            ]
        ]
        try JSONSerialization.data(withJSONObject: sessions).write(to: URL(fileURLWithPath: data + "/console.json"))
        let revoked = try CLI.run(["web", "sessions", "--revoke", "0123456789abcdef", "--data-dir", data])
        #expect(revoked.status == 0, "\(revoked.stderr)")
        let unknown = try CLI.run(["web", "sessions", "--revoke", "ffffffffffffffff", "--data-dir", data])
        #expect(unknown.status != 0 && unknown.stderr.contains("no console session with id ffffffffffffffff"), "\(unknown.stderr)")

        let audit = try CLI.run(["audit", "show", "--data-dir", data, "--json", "--limit", "50"])
        #expect(audit.status == 0, "\(audit.stderr)")
        #expect(audit.stdout.contains("console-enroll") && audit.stdout.contains("enrollment code \(parts[0]) for"), "\(audit.stdout)")
        #expect(audit.stdout.contains("console-revoke") && audit.stdout.contains("session 0123456789abcdef revoked"))
        for secret in parts.dropFirst() { #expect(!audit.stdout.contains("\(secret)-"), "the code is in the audit log") }
        #expect(!audit.stdout.contains(parts.dropFirst().joined(separator: "-")))
        let verify = try CLI.run(["audit", "verify", "--data-dir", data])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }
}
