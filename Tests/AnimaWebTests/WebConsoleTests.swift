import AnimaCore
import AnimaKernel
import AnimaSecurity
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@testable import AnimaWeb

/// The console as an attacker meets it: no session, a stolen or planted cookie, a forged
/// form, a replayed ceremony, a cloned key, hostile text in what it renders.
@Suite struct WebConsoleTests {
    static let protectedPages = [
        "/", "/web", "/web/processes", "/web/approvals", "/web/memory?q=x", "/web/tools", "/web/processes?partial=table",
        "/web/audit", "/web/policies", "/web/tokens", "/web/chat", "/web/chat/2", "/web/context", "/web/processors", "/web/metrics",
    ]
    static let protectedActions = [
        "/web/signout", "/web/processes/2/signal", "/web/approvals/2/abc", "/web/memory/forget", "/web/policies", "/web/tokens",
        "/web/tokens/abc/revoke", "/web/chat", "/web/chat/2",
    ]

    @Test func everyPageAndActionWithoutASessionIsRefused() async throws {
        let harness = try ConsoleHarness()
        try await harness.test { client in
            for page in Self.protectedPages {
                let response = try await ConsoleHarness.get(client, page, cookie: nil)
                #expect(response.status == .seeOther || (page == "/" || page == "/web") && response.status == .found, "\(page)")
                if page != "/" && page != "/web" { #expect(response.headers[.location] == "/web/signin", "\(page)") }
                // Made-up or malformed cookies change nothing, and are cleared.
                for cookie in ["0123456789abcdef.00", "", "x", String(repeating: "a", count: 5000), "a.b.c"] {
                    let forged = try await ConsoleHarness.get(client, page, cookie: cookie)
                    #expect(forged.status == .seeOther || forged.status == .found, "\(page) with \(cookie.prefix(10))")
                }
            }
            let live = try await ConsoleHarness.get(client, "/web/processes/live", cookie: nil)
            #expect(live.status == .unauthorized)
            for action in Self.protectedActions {
                let (h, b) = ConsoleHarness.form([("signal", "terminate"), ("decision", "approve")], cookie: nil)
                let response = try await client.execute(uri: action, method: .post, headers: h, body: b)
                #expect(response.status == .unauthorized, "\(action)")
            }
            // The sign-in page itself is public, and escapes nothing it should not.
            let signin = try await ConsoleHarness.get(client, "/web/signin", cookie: nil)
            #expect(signin.status == .ok)
            #expect(String(buffer: signin.body).contains("Sign in with a passkey"))
        }
    }

    @Test func enrollRegisterSignOutAndSignIn() async throws {
        let harness = try ConsoleHarness()
        _ = try await harness.spawn("researcher")
        try await harness.test { client in
            var authenticator = SoftwareAuthenticator()
            let registered = try await harness.register(authenticator, client: client)
            #expect(registered.status == .ok)
            let setCookie = try #require(registered.headers[.setCookie])
            for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] { #expect(setCookie.contains(attribute)) }
            let cookie = try #require(ConsoleHarness.cookie(registered))
            let page = try await ConsoleHarness.get(client, "/web/processes", cookie: cookie)
            #expect(page.status == .ok)
            let html = String(buffer: page.body)
            #expect(html.contains("researcher"))
            #expect(html.contains("Signed in as alice"))
            #expect(page.headers[.contentSecurityPolicy]?.contains("default-src 'self'") == true)
            // Sign out (with the form's token): the cookie no longer works.
            let csrf = ConsoleStore.csrfToken(secret: cookie)
            let (h, b) = ConsoleHarness.form([("csrf", csrf)], cookie: cookie)
            let out = try await client.execute(uri: "/web/signout", method: .post, headers: h, body: b)
            #expect(out.status == .seeOther)
            #expect(try await ConsoleHarness.get(client, "/web/processes", cookie: cookie).status == .seeOther)
            // Sign in again with the same passkey: a new session.
            let (signedIn, _) = try await harness.signIn(&authenticator, client: client)
            #expect(signedIn.status == .ok)
            let again = try #require(ConsoleHarness.cookie(signedIn))
            #expect(again != cookie)
            #expect(try await ConsoleHarness.get(client, "/web/processes", cookie: again).status == .ok)
            let passkeys = await harness.store.passkeys()
            #expect(passkeys.count == 1 && passkeys[0].user == "alice" && passkeys[0].signCount == 1)
        }
        let actions = harness.audit.records.map(\.syscall)
        #expect(actions.contains("passkey-register") && actions.contains("console-signin") && actions.contains("console-signout"))
    }

    @Test func anEnrollmentCodeWorksOnceAndAReplayedChallengeIsRefused() async throws {
        let harness = try ConsoleHarness()
        try await harness.test { client in
            let code = try await harness.store.enroll(user: "alice", groups: ["users"]).code
            let (h, b) = ConsoleHarness.json(["code": .string(code)])
            let options = try await client.execute(uri: "/web/passkeys/register/options", method: .post, headers: h, body: b)
            let registration = SoftwareAuthenticator().register(challenge: try ConsoleHarness.challenge(options))
            #expect(try await harness.finishRegistration(registration, client: client).status == .ok)
            // The same answer again: its challenge was used.
            let replay = try await harness.finishRegistration(registration, client: client)
            #expect(replay.status == .badRequest)
            #expect(String(buffer: replay.body).contains("challenge is unknown"))
            // The code is spent: a new challenge for it is refused.
            let reuse = try await client.execute(uri: "/web/passkeys/register/options", method: .post, headers: h, body: b)
            #expect(reuse.status == .badRequest)
            let (wh, wb) = ConsoleHarness.json(["code": "0000-AAAA-BBBB-CCCC-DDDD"])
            #expect(
                try await client.execute(uri: "/web/passkeys/register/options", method: .post, headers: wh, body: wb).status == .badRequest)

            // A sign-in answer replayed is refused too.
            var authenticator = SoftwareAuthenticator()
            _ = try await harness.register(authenticator, client: client)
            let (first, assertion) = try await harness.signIn(&authenticator, client: client)
            #expect(first.status == .ok)
            #expect(try await harness.finishSignIn(assertion, client: client).status == .badRequest)
        }
    }

    @Test func aClonedAuthenticatorIsRefusedAndAudited() async throws {
        let harness = try ConsoleHarness()
        try await harness.test { client in
            var authenticator = SoftwareAuthenticator()
            _ = try await harness.register(authenticator, client: client)
            let (ok, _) = try await harness.signIn(&authenticator, client: client, count: 5)
            #expect(ok.status == .ok)
            var clone = authenticator
            let (refused, _) = try await harness.signIn(&clone, client: client, count: 3)
            #expect(refused.status == .badRequest)
            #expect(ConsoleHarness.cookie(refused) == nil)
            #expect(String(buffer: refused.body).contains("cloned"))
        }
        #expect(
            harness.audit.records.contains {
                if $0.syscall == "console-signin", case .denied(let reason) = $0.outcome { return reason.contains("sign count") }
                return false
            })
    }

    @Test func ceremoniesFromAnotherOriginAreRefused() async throws {
        let harness = try ConsoleHarness()
        try await harness.test { client in
            for origin in [nil, "http://evil.example", "null", "http://localhost:8421"] as [String?] {
                let (h, b) = ConsoleHarness.json([:], origin: origin)
                let response = try await client.execute(uri: "/web/passkeys/signin/options", method: .post, headers: h, body: b)
                #expect(response.status == .forbidden, "\(origin ?? "none")")
            }
            // An answer made on another origin, posted from ours, fails on client data.
            let code = try await harness.store.enroll(user: "alice", groups: []).code
            let (h, b) = ConsoleHarness.json(["code": .string(code)])
            let options = try await client.execute(uri: "/web/passkeys/register/options", method: .post, headers: h, body: b)
            let registration = SoftwareAuthenticator().register(
                challenge: try ConsoleHarness.challenge(options), origin: "http://evil.example")
            let response = try await harness.finishRegistration(registration, client: client)
            #expect(response.status == .badRequest)
            #expect(String(buffer: response.body).contains("evil.example"))
        }
    }

    @Test func formsWithoutTheRightCSRFTokenAreRefused() async throws {
        let harness = try ConsoleHarness()
        let pid = try await harness.spawn("victim")
        try await harness.test { client in
            let registered = try await harness.register(SoftwareAuthenticator(), client: client)
            let cookie = try #require(ConsoleHarness.cookie(registered))
            let uri = "/web/processes/\(pid.rawValue)/signal"
            let other = ConsoleStore.csrfToken(secret: "someone.else")
            for fields in [
                [("signal", "terminate")], [("signal", "terminate"), ("csrf", "")], [("signal", "terminate"), ("csrf", other)],
            ] {
                let (h, b) = ConsoleHarness.form(fields, cookie: cookie)
                #expect(try await client.execute(uri: uri, method: .post, headers: h, body: b).status == .forbidden)
            }
            // The right token from a foreign origin is still refused.
            let csrf = ConsoleStore.csrfToken(secret: cookie)
            let (fh, fb) = ConsoleHarness.form([("signal", "terminate"), ("csrf", csrf)], cookie: cookie, origin: "http://evil.example")
            #expect(try await client.execute(uri: uri, method: .post, headers: fh, body: fb).status == .forbidden)
            #expect(await harness.kernel.status(pid)?.state == .ready || true)
            if case .exited = await harness.kernel.status(pid)?.state { Issue.record("a refused form killed the process") }
            // With it, the signal goes through.
            let (h, b) = ConsoleHarness.form([("signal", "terminate"), ("csrf", csrf)], cookie: cookie)
            let done = try await client.execute(uri: uri, method: .post, headers: h, body: b)
            #expect(done.status == .seeOther)
            _ = try? await harness.kernel.wait(pid)
            guard case .exited = await harness.kernel.status(pid)?.state else {
                Issue.record("the process was not killed")
                return
            }
        }
    }

    @Test func aPlantedCookieIsNeverAdopted() async throws {
        let harness = try ConsoleHarness()
        try await harness.test { client in
            let planted = "aaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
            let registered = try await harness.register(SoftwareAuthenticator(), client: client, cookie: planted)
            let issued = try #require(ConsoleHarness.cookie(registered))
            #expect(issued != planted)
            #expect(try await ConsoleHarness.get(client, "/web/processes", cookie: planted).status == .seeOther)
            #expect(try await ConsoleHarness.get(client, "/web/processes", cookie: issued).status == .ok)
        }
    }

    @Test func eachRowOffersItsSignalsAsButtonsAndTheTreeShowsFamilies() async throws {
        let harness = try ConsoleHarness()
        let alice = Principal(name: "alice", groups: ["users"])
        let sleep: Kernel.Program = { _ in
            try await Task.sleep(for: .seconds(60))
            return ""
        }
        let parent = try await harness.kernel.spawn(name: "parent-agent", owner: alice, program: sleep)
        let child = try await harness.kernel.spawn(name: "child-agent", owner: alice, parent: parent, program: sleep)
        let lone = try await harness.spawn("lone-agent")
        try await harness.kernel.signal(lone, .suspend)
        try await harness.test { client in
            let cookie = try #require(ConsoleHarness.cookie(try await harness.register(SoftwareAuthenticator(), client: client)))
            let page = String(buffer: try await ConsoleHarness.get(client, "/web/processes", cookie: cookie).body)
            func row(_ pid: PID) -> String {
                guard let start = page.range(of: "<tr id=\"pid-\(pid.rawValue)\">") else { return "" }
                let rest = page[start.lowerBound...]
                return String(rest[..<(rest.range(of: "</tr>")?.upperBound ?? rest.endIndex)])
            }
            #expect(row(parent).contains("value=\"terminate\">kill</button>") && row(parent).contains("value=\"suspend\">stop</button>"))
            #expect(row(lone).contains("value=\"resume\">continue</button>") && !row(lone).contains(">stop<"), "\(row(lone))")
            let tree = try #require(page.range(of: "<ul class=\"tree\">").map { String(page[$0.lowerBound...]) })
            #expect(tree.contains("\(parent.rawValue) parent-agent") && tree.contains("\(child.rawValue) child-agent"))
            #expect(!tree.hasPrefix("<ul class=\"tree\"><li>\(lone.rawValue) "))
            #expect(tree.contains("1 process(es) with neither a parent nor a child are in the table only."))
        }
    }

    /// The browser lays out and paints only the row groups near the screen (see ConsoleAssets),
    /// so a long table comes in groups of `ProcessRows.piece` rows, every process in one of them.
    @Test func aLongTableComesInRowGroups() async throws {
        let harness = try ConsoleHarness()
        let count = 2 * ProcessRows.piece + 1
        for index in 0..<count { _ = try await harness.spawn("agent-\(index)") }
        try await harness.test { client in
            let cookie = try #require(ConsoleHarness.cookie(try await harness.register(SoftwareAuthenticator(), client: client)))
            let page = String(buffer: try await ConsoleHarness.get(client, "/web/processes", cookie: cookie).body)
            let table = try #require(page.range(of: "<table id=\"process-table\" class=\"pieces\">").map { page[$0.lowerBound...] })
            let body = String(table[..<(table.range(of: "</table>")?.upperBound ?? table.endIndex)])
            let groups = body.components(separatedBy: "<tbody>").dropFirst().map { $0.components(separatedBy: "</tbody>")[0] }
            #expect(groups.map { $0.components(separatedBy: "<tr id=").count - 1 } == [ProcessRows.piece, ProcessRows.piece, 1])
            for index in 0..<count { #expect(body.contains("<td>agent-\(index)</td>")) }
        }
    }

    @Test func anotherUsersProcessCannotBeSignalled() async throws {
        let harness = try ConsoleHarness()
        let bobs = try await harness.spawn("bobs-agent", owner: "bob")
        try await harness.test { client in
            let cookie = try #require(ConsoleHarness.cookie(try await harness.register(SoftwareAuthenticator(), client: client)))
            let page = String(buffer: try await ConsoleHarness.get(client, "/web/processes", cookie: cookie).body)
            #expect(!page.contains("bobs-agent"))
            let (h, b) = ConsoleHarness.form([("signal", "terminate"), ("csrf", ConsoleStore.csrfToken(secret: cookie))], cookie: cookie)
            let response = try await client.execute(uri: "/web/processes/\(bobs.rawValue)/signal", method: .post, headers: h, body: b)
            #expect(response.status == .forbidden)
        }
    }

    @Test func hostileTextIsRenderedEscaped() async throws {
        let harness = try ConsoleHarness()
        let payload = "<script>alert('x')</script><img src=x onerror=alert(1)>\"'&"
        _ = try await harness.spawn(payload)
        try await harness.test { client in
            let cookie = try #require(ConsoleHarness.cookie(try await harness.register(SoftwareAuthenticator(), client: client)))
            let html = String(buffer: try await ConsoleHarness.get(client, "/web/processes", cookie: cookie).body)
            #expect(!html.contains("<script>alert"))
            #expect(!html.contains("<img src=x"))
            #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"))
            // The search box echoes the query escaped.
            let search = String(buffer: try await ConsoleHarness.get(client, "/web/memory?agent=%22%3E%3Cscript%3E", cookie: cookie).body)
            #expect(!search.contains("\"><script>"))
        }
        // Memory records and approvals render through the same escaping templates.
        let memory = ConsolePages.render(
            "memory", title: "Memory",
            data: ["records": [["agent": payload, "kind": "passage", "id": "1", "text": payload, "source": "web"]], "csrf": "t"],
            session: (payload, "t"))
        #expect(!memory.contains("<script>alert") && !memory.contains("<img src=x"))
        let approvals = ConsolePages.render(
            "approvals", title: "Approvals",
            data: [
                "approvals": [
                    [
                        "id": "a", "pid": "2", "tool": payload, "reason": payload,
                        "arguments": [["path": payload, "value": payload, "sources": payload, "trusted": false]],
                    ]
                ], "csrf": "t",
            ],
            session: ("alice", "t"))
        #expect(!approvals.contains("<script>alert") && !approvals.contains("<img src=x"))
    }

    @Test func revokedAndExpiredSessionsEnd() async throws {
        var lifetimes = ConsoleLifetimes()
        lifetimes.idle = 60
        // The store's clock is the test's: on a loaded machine real seconds pass between any two requests.
        let clock = Mutex(Date())
        let harness = try ConsoleHarness(lifetimes: lifetimes, now: { clock.withLock { $0 } })
        try await harness.test { client in
            let cookie = try #require(ConsoleHarness.cookie(try await harness.register(SoftwareAuthenticator(), client: client)))
            clock.withLock { $0 += 59 }
            #expect(try await ConsoleHarness.get(client, "/web/tools", cookie: cookie).status == .ok)
            clock.withLock { $0 += 61 }  // idle since the last request
            #expect(try await ConsoleHarness.get(client, "/web/tools", cookie: cookie).status == .seeOther)
        }
        let other = try ConsoleHarness()
        try await other.test { client in
            let cookie = try #require(ConsoleHarness.cookie(try await other.register(SoftwareAuthenticator(), client: client)))
            let id = try #require(await other.store.sessions().first?.id)
            try await other.store.revoke(session: id)
            #expect(try await ConsoleHarness.get(client, "/web/tools", cookie: cookie).status == .seeOther)
        }
    }
}

/// The audit view: the chain verified on each view, for the logs group only.
@Suite struct ConsoleAuditTests {
    @Test func theAuditViewShowsTheChainAndATamperedRecord() async throws {
        let harness = try ConsoleHarness()
        let path = try #require(harness.configuration.auditLogPath)
        let log = try AuditLog(path: path, durability: .everyRecord)
        for i in 1...3 {
            log.append(
                AuditRecord(
                    sequence: UInt64(i), time: Date(), pid: PID(UInt32(i)), owner: "alice", syscall: "spawn",
                    summary: i == 2 ? "<b>agent two</b>" : "agent \(i)", outcome: .completed))
        }
        log.close()
        try await harness.test { client in
            let reader = try #require(
                ConsoleHarness.cookie(try await harness.register(SoftwareAuthenticator(), client: client, groups: ["users", "logs"])))
            let html = String(buffer: try await ConsoleHarness.get(client, "/web/audit", cookie: reader).body)
            #expect(html.contains("intact: 3 records"))
            #expect(html.contains("&lt;b&gt;agent two&lt;/b&gt;") && !html.contains("<b>agent two"))
            // Without the logs group, no audit log.
            let plain = try #require(ConsoleHarness.cookie(try await harness.register(SoftwareAuthenticator(), client: client)))
            #expect(try await ConsoleHarness.get(client, "/web/audit", cookie: plain).status == .forbidden)
            // An edited record breaks the chain, and the view says so.
            let text = try String(contentsOfFile: path, encoding: .utf8)
            try text.replacingOccurrences(of: "agent 3", with: "agent 9").write(toFile: path, atomically: true, encoding: .utf8)
            let tampered = String(buffer: try await ConsoleHarness.get(client, "/web/audit", cookie: reader).body)
            #expect(tampered.contains("TAMPERED"))
        }
    }
}
