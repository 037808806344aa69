import Foundation
import Testing

@testable import AnimaWeb

/// The console's durable state: codes single-use and short-lived, secrets never at rest.
@Suite struct ConsoleStoreTests {
    final class Clock: @unchecked Sendable {
        var now = Date(timeIntervalSince1970: 1_800_000_000)
    }

    func passkey(_ id: String = "cred") -> Passkey {
        Passkey(id: id, publicKey: "k", signCount: 0, userHandle: "h", attestation: "none")
    }

    @Test func codesAreSingleUseExpireAndAreNotStored() async throws {
        let clock = Clock()
        let directory = URL(fileURLWithPath: NSTemporaryDirectory() + "anima-console-\(UUID().uuidString)")
        let store = try ConsoleStore(directory: directory, now: { clock.now })
        let (code, _) = try await store.enroll(user: "alice", groups: ["users", "net"])
        #expect(await store.enrollment(code: code)?.user == "alice")
        #expect(await store.enrollment(code: code.lowercased())?.user == "alice")
        let stored = try await store.register(passkey(), code: code)
        #expect(stored.user == "alice" && stored.groups == ["net", "users"])
        await #expect(throws: ConsoleStoreError.badCode) { try await store.register(passkey("two"), code: code) }
        let (late, _) = try await store.enroll(user: "bob", groups: [])
        clock.now += 601
        #expect(await store.enrollment(code: late) == nil)
        await #expect(throws: ConsoleStoreError.badCode) { try await store.register(passkey("three"), code: late) }
        await #expect(throws: ConsoleStoreError.self) { try await store.enroll(user: "../root", groups: []) }
        let (secret, _) = try await store.startSession(for: stored)
        let text = try String(contentsOf: store.file, encoding: .utf8)
        #expect(!text.contains(code) && !text.contains(late) && !text.contains(secret))
        let mode = try FileManager.default.attributesOfItem(atPath: store.file.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func sessionsExpireWhenIdleOrOldAndAnotherProcessSeesRevocation() async throws {
        let clock = Clock()
        let directory = URL(fileURLWithPath: NSTemporaryDirectory() + "anima-console-\(UUID().uuidString)")
        let store = try ConsoleStore(directory: directory, now: { clock.now })
        let (secret, session) = try await store.startSession(for: passkey())
        #expect(await store.check(secret: secret) == .valid(session))
        for _ in 0..<30 {  // used every 25 minutes: idle never reached, but 12 hours is the end
            clock.now += 25 * 60
            if case .expired = await store.check(secret: secret) { break }
        }
        #expect(clock.now.timeIntervalSince(session.created) > 12 * 3600 - 25 * 60)
        #expect(await store.check(secret: secret) == .expired)
        let (idle, _) = try await store.startSession(for: passkey())
        clock.now += 31 * 60
        #expect(await store.check(secret: idle) == .expired)
        // A second store on the same file (as `anima web sessions --revoke` is) revokes.
        let (live, started) = try await store.startSession(for: passkey())
        let other = try ConsoleStore(directory: directory, now: { clock.now })
        try await other.revoke(session: started.id)
        #expect(await store.check(secret: live) == .revoked)
        #expect(await store.check(secret: started.id + ".wrong") == .invalid)
        #expect(ConsoleStore.csrfToken(secret: live) != ConsoleStore.csrfToken(secret: idle))
    }

    @Test func challengesAreSingleUseAndExpire() async {
        let clock = Clock()
        let book = ChallengeBook(lifetime: 60, capacity: 3, now: { clock.now })
        let a = await book.issue(.signIn)
        #expect(await book.take(a) == .signIn)
        #expect(await book.take(a) == nil)
        let b = await book.issue(.signIn)
        clock.now += 61
        #expect(await book.take(b) == nil)
        let first = await book.issue(.signIn)
        for _ in 0..<3 { _ = await book.issue(.signIn) }
        #expect(await book.take(first) == nil)  // pushed out by the bound
    }
}
