import AnimaKernel
import AnimaSecurity
import Foundation
import Logging
import ServiceLifecycle
import Testing

@testable import AnimaServer

/// The daemon applies its data directory's policy.json while it runs: written by hand,
/// broken, removed; and the watch ends with the daemon.
@Suite struct PolicyWatchTests {
    func eventually(_ condition: @Sendable () async -> Bool) async throws -> Bool {
        for _ in 0..<100 {
            if await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    @Test func aPolicyFileEditedWhileTheDaemonRunsAppliesAtOnce() async throws {
        let dir = NSTemporaryDirectory() + "anima-policy-watch-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/" + SecurityMonitor.policyFileName
        let audit = MemoryAuditTrail()
        let kernel = Kernel(.init(processor: nil, audit: audit, security: try SecurityMonitor(dataDirectory: dir)))
        #expect(await kernel.policy.defaultAction == .deny)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        // Changed after the daemon started and before its watch was set up: no event will
        // say so, and the watch reads the file when it starts.
        try #"{"default": {"allow": ["user"], "onViolation": "ask"}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let group = ServiceGroup(services: [PolicyWatch(kernel: kernel, directory: dir, logger: logger)], logger: logger)
        let running = Task { try await group.run() }
        #expect(try await eventually { await kernel.policy.defaultAction == .ask })  // and so the watch is set up

        // Written by hand (not replaced): applied.
        FileManager.default.createFile(atPath: path, contents: Data(#"{"default": {"allow": ["*"], "onViolation": "ask"}}"#.utf8))
        #expect(try await eventually { await kernel.policy.defaultAllow.description == "*" })
        // Another file in the directory changes nothing; a broken policy is refused and the one in force stays.
        FileManager.default.createFile(atPath: dir + "/other.json", contents: Data("{}".utf8))
        try "{ not json".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try await eventually { audit.records.contains { $0.syscall == "policy-reload" && $0.outcome == .denied("invalid") } })
        #expect(await kernel.policy.defaultAction == .ask)
        // Removed: the strict default, as at a start without a file.
        try FileManager.default.removeItem(atPath: path)
        #expect(try await eventually { await kernel.policy.defaultAction == .deny })
        #expect(audit.records.filter { $0.syscall == "policy-reload" }.map(\.owner) == ["file", "file", "file", "file"])

        await group.triggerGracefulShutdown()
        try await running.value  // the watch ends with the daemon
    }
}
