import AnimaCore
import AnimaKernel
import AnimaSecurity
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AnimaWeb

/// API tokens in memory, for the tokens view (the daemon's token store is the real one;
/// this keeps the same rules: a secret made once, revocation by id).
actor MemoryTokenRegistry: ConsoleTokenRegistry {
    nonisolated let scopes = ["chat", "agents", "memory", "audit"]
    var stored: [ConsoleToken] = []
    var secrets: [String: String] = [:]

    func tokens() async throws -> [ConsoleToken] { stored }

    func createToken(name: String, user: String, groups: [String], scopes: [String], lifetime: TimeInterval?) async throws -> (
        secret: String, token: ConsoleToken
    ) {
        for scope in scopes where !self.scopes.contains(scope) { throw ConsoleInputError("unknown scope \(scope)") }
        let id = String(UUID().uuidString.prefix(8)).lowercased()
        let token = ConsoleToken(
            id: id, name: name, user: user, groups: groups, scopes: scopes, created: Date(),
            expires: lifetime.map { Date().addingTimeInterval($0) }, revoked: nil)
        stored.append(token)
        let secret = "anima_\(id)_\(UUID().uuidString)"
        secrets[id] = secret
        return (secret, token)
    }

    func revokeToken(id: String) async throws {
        guard let i = stored.firstIndex(where: { $0.id == id }) else { throw ConsoleInputError("no token \(id)") }
        stored[i].revoked = Date()
    }
}

/// Policies and tokens from the browser, and the enrollment code's rate limit.
@Suite struct ConsoleAdminTests {
    static let validPolicy = """
        {"default": {"allow": ["user", "system"], "onViolation": "deny"},
         "tools": {"send_email": {"effect": "network", "arguments": {"to": {"allow": ["user"]}}, "onViolation": "ask"}}}
        """

    @Test func everyoneReadsThePolicyOnlyRootChangesItAndEveryChangeIsCheckedAndAudited() async throws {
        let harness = try ConsoleHarness(security: .policyOnly())
        let path = try #require(harness.configuration.policyPath)
        try await harness.test { client in
            let alice = try #require(ConsoleHarness.cookie(try await harness.register(SoftwareAuthenticator(), client: client)))
            let read = try await ConsoleHarness.get(client, "/web/policies", cookie: alice)
            #expect(read.status == .ok)
            let page = String(buffer: read.body)
            #expect(page.contains("the strict default applies") && page.contains("onViolation"))
            #expect(!page.contains("<textarea"))
            let (h, b) = ConsoleHarness.form([("csrf", ConsoleStore.csrfToken(secret: alice)), ("policy", Self.validPolicy)], cookie: alice)
            #expect(try await client.execute(uri: "/web/policies", method: .post, headers: h, body: b).status == .forbidden)
            #expect(!FileManager.default.fileExists(atPath: path))

            let root = try #require(
                ConsoleHarness.cookie(try await harness.register(SoftwareAuthenticator(), client: client, user: "root", groups: ["root"])))
            let csrf = ConsoleStore.csrfToken(secret: root)
            #expect(String(buffer: try await ConsoleHarness.get(client, "/web/policies", cookie: root).body).contains("<textarea"))
            // A wrong document is refused, named, and shown back escaped; nothing is written.
            let hostile = "{\"default\": {\"allow\": [\"</textarea><script>alert(1)</script>\"]}}"
            for bad in [hostile, "{", "[]", "{\"tools\": {\"x\": {\"onViolation\": \"maybe\"}}}", String(repeating: "{", count: 5000)] {
                let (bh, bb) = ConsoleHarness.form([("csrf", csrf), ("policy", bad)], cookie: root)
                let refused = try await client.execute(uri: "/web/policies", method: .post, headers: bh, body: bb)
                #expect(refused.status == .badRequest, "\(bad.prefix(30))")
                let html = String(buffer: refused.body)
                #expect(html.contains("was not saved"))
                #expect(!html.contains("</textarea><script>"))
                #expect(!FileManager.default.fileExists(atPath: path))
            }
            let (gh, gb) = ConsoleHarness.form([("csrf", csrf), ("policy", Self.validPolicy)], cookie: root)
            #expect(await harness.kernel.policy.tools["send_email"] == nil)
            let saved = try await client.execute(uri: "/web/policies", method: .post, headers: gh, body: gb)
            #expect(saved.status == .ok)
            // In force at once, without a restart.
            #expect(String(buffer: saved.body).contains("in force now"))
            #expect(await harness.kernel.policy.tools["send_email"]?.onViolation == .ask)
            #expect(try String(contentsOfFile: path, encoding: .utf8) == Self.validPolicy)
            #expect(try SecurityPolicy(contentsOf: path).tools["send_email"]?.onViolation == .ask)
            let shown = String(buffer: try await ConsoleHarness.get(client, "/web/policies", cookie: alice).body)
            #expect(shown.contains("<td>send_email</td><td>network</td>"))
        }
        let edits = harness.audit.records.filter { $0.syscall == "policy-edit" }
        #expect(edits.filter { $0.outcome == .denied("not root") }.map(\.owner) == ["alice"])
        #expect(edits.filter { $0.outcome == .denied("invalid") }.count == 5)
        let done = edits.filter { $0.outcome == .completed }
        #expect(done.count == 1 && done[0].owner == "root" && done[0].summary.contains("from sha256 none to"))
        #expect(!done[0].summary.contains("send_email"))
        let reloads = harness.audit.records.filter { $0.syscall == "policy-reload" }
        #expect(reloads.map(\.owner) == ["root"] && reloads.first?.outcome == .completed)
    }

    @Test func tokensAreMadeForTheSignedInUserShownOnceAndRevokedOnlyByTheirOwner() async throws {
        let harness = try ConsoleHarness()
        let bobs = try await harness.tokens.createToken(name: "bobs", user: "bob", groups: ["users"], scopes: ["chat"], lifetime: nil)
        try await harness.test { client in
            let alice = try #require(
                ConsoleHarness.cookie(try await harness.register(SoftwareAuthenticator(), client: client, groups: ["users", "net"])))
            let csrf = ConsoleStore.csrfToken(secret: alice)
            let list = String(buffer: try await ConsoleHarness.get(client, "/web/tokens", cookie: alice).body)
            #expect(list.contains("No tokens.") && !list.contains("bobs"))
            let (h, b) = ConsoleHarness.form(
                [("csrf", csrf), ("name", "<b>laptop</b>"), ("scope", "chat"), ("scope", "memory"), ("scope", "chat"), ("expires", "12h")],
                cookie: alice)
            let created = try await client.execute(uri: "/web/tokens", method: .post, headers: h, body: b)
            #expect(created.status == .ok)
            let token = try #require(await harness.tokens.stored.first { $0.user == "alice" })
            #expect(token.scopes == ["chat", "memory"] && token.groups == ["net", "users"] && token.name == "<b>laptop</b>")
            let expires = try #require(token.expires)
            #expect(abs(expires.timeIntervalSinceNow - 12 * 3600) < 60)
            let secret = try #require(await harness.tokens.secrets[token.id])
            #expect(String(buffer: created.body).contains(secret))
            #expect(created.headers[.cacheControl] == "no-store")
            // The list never shows it again, and escapes the name.
            let after = String(buffer: try await ConsoleHarness.get(client, "/web/tokens", cookie: alice).body)
            #expect(!after.contains(secret) && after.contains("&lt;b&gt;laptop") && !after.contains("<b>laptop"))

            // Nonsense is refused with what to send instead; nothing is made.
            let lifetimes = ["1e300", "-1e300", "NaN", "inf", "-1", "0", "9223372036854775808", "12x", "1.5h", ""].map { text in
                [("name", "x"), ("scope", "chat"), ("expires", text)]
            }
            let nonsense: [[(String, String)]] = [
                [("name", ""), ("scope", "chat")], [("name", "x")], [("name", String(repeating: "n", count: 65)), ("scope", "chat")],
                [("name", "x"), ("scope", "root")],
            ]
            for fields in nonsense + lifetimes {
                let (bh, bb) = ConsoleHarness.form([("csrf", csrf)] + fields, cookie: alice)
                let refused = try await client.execute(uri: "/web/tokens", method: .post, headers: bh, body: bb)
                #expect(refused.status == .badRequest, "\(fields)")
            }
            #expect(await harness.tokens.stored.count == 2)

            // Bob's token is not hers to revoke; her own is.
            let (rh, rb) = ConsoleHarness.form([("csrf", csrf)], cookie: alice)
            let theirs = try await client.execute(uri: "/web/tokens/\(bobs.token.id)/revoke", method: .post, headers: rh, body: rb)
            #expect(theirs.status == .forbidden)
            #expect(try await client.execute(uri: "/web/tokens/nope/revoke", method: .post, headers: rh, body: rb).status == .notFound)
            let mine = try await client.execute(uri: "/web/tokens/\(token.id)/revoke", method: .post, headers: rh, body: rb)
            #expect(mine.status == .seeOther)
            let states = await harness.tokens.stored.map { ($0.user, $0.state()) }
            #expect(states.contains { $0 == ("alice", "revoked") } && states.contains { $0 == ("bob", "active") })
        }
        let records = harness.audit.records
        let made = records.filter { $0.syscall == "token-create" }
        #expect(made.count == 1 && made[0].owner == "alice")
        #expect(!records.contains { $0.summary.contains("anima_") })
        #expect(records.contains { $0.syscall == "token-revoke" && $0.outcome == .denied("not its owner") })
        #expect(records.contains { $0.syscall == "token-revoke" && $0.outcome == .completed })
    }

    @Test func theNewFormsNeedTheSessionsCSRFToken() async throws {
        let harness = try ConsoleHarness()
        try await harness.test { client in
            let root = try #require(
                ConsoleHarness.cookie(try await harness.register(SoftwareAuthenticator(), client: client, user: "root", groups: ["root"])))
            for uri in ["/web/policies", "/web/tokens", "/web/tokens/abc/revoke", "/web/chat"] {
                for csrf in [nil, "", ConsoleStore.csrfToken(secret: "someone.else")] {
                    var fields = [("policy", Self.validPolicy), ("name", "x"), ("scope", "chat"), ("text", "hello")]
                    if let csrf { fields.append(("csrf", csrf)) }
                    let (h, b) = ConsoleHarness.form(fields, cookie: root)
                    #expect(try await client.execute(uri: uri, method: .post, headers: h, body: b).status == .forbidden, "\(uri)")
                }
            }
        }
        #expect(!FileManager.default.fileExists(atPath: harness.configuration.policyPath!))
        #expect(await harness.tokens.stored.isEmpty)
    }

    @Test func wrongEnrollmentCodesAreLimitedAndTheRefusalAudited() async throws {
        var setup = try ConsoleHarness()
        setup.limiter = EnrollmentLimiter(window: 300, perAddress: 3, overall: 10)
        let harness = setup
        try await harness.test { client in
            let good = try await harness.store.enroll(user: "alice", groups: ["users"]).code
            for _ in 0..<3 {
                let (h, b) = ConsoleHarness.json(["code": "0000-AAAA-BBBB-CCCC-DDDD"])
                #expect(try await client.execute(uri: "/web/passkeys/register/options", method: .post, headers: h, body: b).status == .badRequest)
            }
            // Blocked now, even with the right code, and told how long to wait.
            for _ in 0..<3 {
                let (h, b) = ConsoleHarness.json(["code": .string(good)])
                let refused = try await client.execute(uri: "/web/passkeys/register/options", method: .post, headers: h, body: b)
                #expect(refused.status == .tooManyRequests)
                #expect(Int(refused.headers[.init("Retry-After")!] ?? "") ?? 0 > 0)
                #expect(String(buffer: refused.body).contains("wait"))
            }
        }
        let records = harness.audit.records.filter { $0.syscall == "console-enroll" }
        #expect(records.filter { $0.outcome == .denied("bad code") }.count == 3)
        #expect(records.filter { $0.outcome == .denied("too many wrong enrollment codes") }.count == 1)
        #expect(!records.contains { $0.summary.contains("AAAA") })
    }

    @Test func theLimiterForgetsOldFailuresAndAlsoLimitsEveryoneTogether() async {
        let clock = TestClock()
        let limiter = EnrollmentLimiter(window: 60, perAddress: 2, overall: 5, now: { clock.now })
        await limiter.fail("a")
        await limiter.fail("a")
        #expect(await limiter.check("a") == .refused(retryAfter: 60, firstRefusal: true))
        #expect(await limiter.check("a") == .refused(retryAfter: 60, firstRefusal: false))
        #expect(await limiter.check("b") == .allowed)
        clock.advance(61)
        #expect(await limiter.check("a") == .allowed)
        // Spread over many addresses, guesses still stop.
        for i in 0..<5 { await limiter.fail("10.0.0.\(i)") }
        if case .refused(_, let first) = await limiter.check("10.0.0.99") { #expect(first) } else { Issue.record("not limited") }
        clock.advance(61)
        #expect(await limiter.check("10.0.0.99") == .allowed)
    }
}

/// A clock a test moves by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_000_000)
    var now: Date { lock.withLock { current } }
    func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
}
