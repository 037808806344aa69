import AnimaCore
import AnimaKernel
import AnimaMemory
import AnimaProcessor
import AnimaStorage
import AnimaTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import AnimaServer

@Suite("Daemon: authentication and limits")
struct AuthenticationTests {
    @Test func healthNeedsNoToken() async throws {
        let d = try await TestDaemon()
        try await d.test { client in
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func missingWrongRevokedAndUnscopedTokensAreRefusedAndNothingRuns() async throws {
        let d = try await TestDaemon()
        let revoked = try await d.daemon.tokens.create(name: "old", user: "alice", groups: [], scopes: Scope.allCases)
        try await d.daemon.tokens.revoke(id: revoked.token.id)
        let chatOnly = try await d.token(scopes: [.chat])
        let spawn = ByteBuffer(string: #"{"task":"do something"}"#)
        try await d.test { client in
            for (token, status, code) in [
                (nil, HTTPResponse.Status.unauthorized, "missing_token"), ("anima_0000_nope", .unauthorized, "invalid_token"),
                (revoked.secret, .unauthorized, "revoked_token"), (chatOnly, .forbidden, "missing_scope"),
            ] {
                try await client.execute(uri: "/anima/v1/processes", method: .post, headers: headers(token), body: spawn) { response in
                    #expect(response.status == status)
                    let error = json(response)["error"]
                    #expect(error?["code"]?.stringValue == code)
                    #expect(error?["message"]?.stringValue?.isEmpty == false)
                }
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: headers(nil), body: chatBody) {
                #expect($0.status == .unauthorized)
            }
        }
        #expect(await d.daemon.kernel.processes().isEmpty)  // nothing ran
    }

    /// The scheme is case-insensitive: clients that send `bearer` are not refused.
    @Test func theBearerSchemeIsCaseInsensitive() async throws {
        let d = try await TestDaemon()
        try await d.test { client in
            for scheme in ["bearer", "BEARER", "Bearer", "bEaReR"] {
                try await client.execute(
                    uri: "/v1/models", method: .get, headers: [.authorization: "\(scheme) \(d.admin)"]
                ) { #expect($0.status == .ok, "\(scheme)") }
            }
            try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Basic \(d.admin)"]) {
                #expect($0.status == .unauthorized)
            }
        }
    }

    /// An expired token is refused with a message that says so and what to do.
    @Test func anExpiredTokenAnswers401AndSaysItExpired() async throws {
        let d = try await TestDaemon()
        // Long enough for the first request to come before it on a loaded machine; then waited out.
        let expires = Date().addingTimeInterval(3)
        let short = try await d.daemon.tokens.create(
            name: "short", user: "alice", groups: ["users"], scopes: Scope.allCases, expires: expires)
        try await d.test { client in
            try await client.execute(uri: "/v1/models", method: .get, headers: headers(short.secret)) { #expect($0.status == .ok) }
            try await Task.sleep(for: .seconds(max(0, expires.timeIntervalSinceNow) + 0.1))
            try await client.execute(uri: "/v1/models", method: .get, headers: headers(short.secret)) { response in
                #expect(response.status == .unauthorized)
                #expect(json(response)["error"]?["code"]?.stringValue == "expired_token")
                #expect(json(response)["error"]?["message"]?.stringValue?.contains("expired") == true)
            }
        }
        await #expect(throws: TokenStoreError.self) {
            try await d.daemon.tokens.create(
                name: "past", user: "alice", groups: [], scopes: [.chat], expires: Date().addingTimeInterval(-5))
        }
    }

    /// Another process (here: a second store on the same file, as `anima token` is) revokes
    /// and creates tokens while the daemon runs: both take effect at the next request, and
    /// nothing the daemon does writes its old list back.
    @Test func changesByAnotherWriterReachTheRunningDaemonAtOnce() async throws {
        let d = try await TestDaemon()
        let other = try TokenStore(directory: URL(fileURLWithPath: d.daemon.configuration.dataDirectory))
        try await d.test { client in
            try await client.execute(uri: "/v1/models", method: .get, headers: headers(d.admin)) { #expect($0.status == .ok) }
            let adminID = try #require(await other.list().first { $0.name == "admin" }).id
            try await other.revoke(id: adminID)
            try await client.execute(uri: "/v1/models", method: .get, headers: headers(d.admin)) { #expect($0.status == .unauthorized) }
            let fresh = try await other.create(name: "fresh", user: "alice", groups: ["users"], scopes: [.chat])
            try await client.execute(uri: "/v1/models", method: .get, headers: headers(fresh.secret)) { #expect($0.status == .ok) }
        }
        // The daemon's own write (a new token) keeps the other writer's changes.
        _ = try await d.token(scopes: [.chat])
        let reread = try TokenStore(directory: URL(fileURLWithPath: d.daemon.configuration.dataDirectory))
        let names = await reread.list()
        #expect(names.contains { $0.name == "fresh" })
        #expect(names.first { $0.name == "admin" }?.revoked != nil)
    }

    /// The all-scopes `local-cli` token an older daemon left in the file (no expiry) is
    /// revoked at the next start; tokens of other names and newer ones are untouched.
    @Test func aLegacyLocalCLITokenIsRevokedAndOthersKept() async throws {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory() + "anima-tokens-\(UUID().uuidString)")
        let store = try TokenStore(directory: directory)
        let kept = try await store.create(name: "laptop", user: "alice", groups: ["users"], scopes: [.chat], expires: nil)
        let legacy = try await store.create(name: "local-cli", user: "alice", groups: ["users"], scopes: Scope.allCases, expires: nil)
        #expect(await store.authenticate(legacy.secret) != nil)
        #expect(try await store.revokeLegacyCLITokens() == 1)
        #expect(await store.authenticate(legacy.secret) == nil)
        #expect(await store.authenticate(kept.secret) != nil)
        #expect(try await store.revokeLegacyCLITokens() == 0)
    }

    @Test func theTokenFileIsPrivate() async throws {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory() + "anima-tokens-\(UUID().uuidString)")
        let store = try TokenStore(directory: directory)
        _ = try await store.create(name: "laptop", user: "alice", groups: ["users"], scopes: [.chat], expires: nil)
        let mode = try FileManager.default.attributesOfItem(atPath: await store.file.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).allSatisfy { !$0.hasSuffix(".tmp") })
    }

    @Test func rateAndConcurrencyLimitsAnswer429() async throws {
        let d = try await TestDaemon(requestsPerMinute: 3)
        try await d.test { client in
            for _ in 0..<3 {
                try await client.execute(uri: "/v1/models", method: .get, headers: headers(d.admin)) { #expect($0.status == .ok) }
            }
            // The bucket refills one request per 20 s; on a loaded machine the first
            // requests may be that slow, so allow a few refills before the refusal.
            var refusal: TestResponse?
            for _ in 0..<10 where refusal == nil {
                let response = try await client.execute(uri: "/v1/models", method: .get, headers: headers(d.admin)) { $0 }
                if response.status == .tooManyRequests { refusal = response }
            }
            let response = try #require(refusal)
            #expect(response.headers[.retryAfter] != nil)
            #expect(json(response)["error"]?["type"]?.stringValue == "rate_limit_error")
        }
    }

    @Test func oversizedBodiesAnswer413() async throws {
        let d = try await TestDaemon(maxBytes: 2048)
        let big = ByteBuffer(
            string: #"{"model":"scripted","messages":[{"role":"user","content":""# + String(repeating: "x", count: 10_000) + #""}]}"#)
        try await d.test { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: headers(d.admin), body: big) { response in
                #expect(response.status == .contentTooLarge)
                #expect(json(response)["error"] != nil)
            }
        }
    }
}
