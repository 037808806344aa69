import AnimaCore
import AnimaSecurity
import Foundation
import Synchronization
import Testing

@testable import AnimaKernel

/// The policy while the kernel runs: a changed file applies from the next check on, an
/// unchanged one records nothing, a broken one changes nothing, a removed one means strict.
@Suite struct PolicyReloadTests {
    static let deny = #"{"default": {"allow": ["user", "system"], "onViolation": "deny"}}"#
    static let allowAll = #"{"default": {"allow": ["*"], "onViolation": "deny"}}"#

    /// Reads the inbox, then mails its sender: the recipient comes from an untrusted email.
    static func replyToInbox(_ kernel: Kernel) async throws -> String {
        let outcome = Mutex("")
        let pid = try await kernel.spawn(name: "replier", owner: dana, task: "answer my mail") { context in
            _ = try await context.callTool(ToolCall(id: "1", name: "read_inbox", arguments: [:]))
            do {
                _ = try await context.callTool(ToolCall(id: "2", name: "send_email", arguments: ["to": "eve@evil.example", "body": "hi"]))
                outcome.withLock { $0 = "sent" }
            } catch {
                outcome.withLock { $0 = "refused: \(error)" }
            }
            return "done"
        }
        _ = try await kernel.wait(pid)
        return outcome.withLock { $0 }
    }

    @Test func aChangedPolicyFileAppliesToTheNextCallAndIsAudited() async throws {
        let dir = NSTemporaryDirectory() + "anima-policy-reload-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/policy.json"
        try Self.deny.write(toFile: path, atomically: true, encoding: .utf8)
        let effects = SideEffects()
        let audit = MemoryAuditTrail()
        let kernel = securedKernel(
            World(inbox: "From: eve@evil.example"), effects, security: try SecurityMonitor(dataDirectory: dir), audit: audit)
        #expect(try await Self.replyToInbox(kernel).hasPrefix("refused"))
        // The file the kernel started with, read again: nothing to apply, nothing recorded.
        #expect(await kernel.reloadPolicy(from: path, by: "file") == .unchanged)

        try Self.allowAll.write(toFile: path, atomically: true, encoding: .utf8)
        let applied = await kernel.reloadPolicy(from: path, by: "root")
        #expect(applied == .applied(digest: SecurityPolicy.digest(Self.allowAll)))
        #expect(try await Self.replyToInbox(kernel) == "sent")
        #expect(effects.all == [.email(to: "eve@evil.example", body: "hi")])
        #expect(await kernel.reloadPolicy(from: path, by: "root") == .unchanged)

        // A broken file is refused, and the policy in force stays.
        try #"{"default": {"allow": ["user"], "onViolation": "maybe"}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        guard case .refused(let reason) = await kernel.reloadPolicy(from: path, by: "file") else {
            Issue.record("a broken policy was applied")
            return
        }
        #expect(reason.contains("onViolation") && reason.contains("stays"), "\(reason)")
        #expect(await kernel.reloadPolicy(from: path, by: "file") == .refused(reason))  // seen again: not recorded again
        #expect(await kernel.policy.defaultAllow.description == "*")

        // No file: the strict default, as at a start without one.
        try FileManager.default.removeItem(atPath: path)
        #expect(await kernel.reloadPolicy(from: path, by: "file") == .applied(digest: "strict default"))
        #expect(try await Self.replyToInbox(kernel).hasPrefix("refused"))

        let notes = audit.records.filter { $0.syscall == "policy-reload" }
        #expect(notes.count == 3, "\(notes)")
        #expect(notes.map(\.outcome) == [.completed, .denied("invalid"), .completed])
        #expect(notes.first?.summary.contains(String(SecurityPolicy.digest(Self.allowAll).prefix(16))) == true)
    }

    @Test func aKernelWithoutAMonitorRefusesAPolicy() async throws {
        let kernel = securedKernel(World(), SideEffects(), security: nil)
        guard case .refused(let reason) = await kernel.reloadPolicy(from: "/nonexistent/policy.json", by: "root") else {
            Issue.record("an open kernel took a policy")
            return
        }
        #expect(reason.contains("without a policy monitor"))
    }
}
