import AnimaCore
import AnimaTesting
import Foundation
import Testing

/// Three `anima workflow worker` processes, each with its own data directory, share one
/// PostgreSQL run queue (pgserver); one is killed with SIGKILL while it holds runs.
@Suite("anima workflow worker ×3 on PostgreSQL under kill -9")
struct WorkflowPostgresFaultTests {
    @Test(.timeLimit(.minutes(3))) func threeWorkersOneKilledLoseNothingAndRepeatNothing() async throws {
        let url = try await PostgresTestServer.freshDatabaseURL()
        let root = NSTemporaryDirectory() + "anima-wf-pg3-\(UUID().uuidString)"
        let workspaces = root + "/workspaces"
        try FileManager.default.createDirectory(atPath: workspaces, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let env = ["ANIMA_WORKSPACES": workspaces, "ANIMA_WORKFLOW_DATABASE": url]
        let data = (1...3).map { "\(root)/daemon\($0)" }

        // The counting server of the single-daemon test, each request taking 150 ms (I/O to wait on).
        let script = WorkflowFaultTests.server
            .replacingOccurrences(of: "import http.server, json, sys, threading", with: "import http.server, json, sys, threading, time")
            .replacingOccurrences(of: "    def do_POST(self):\n", with: "    def do_POST(self):\n        time.sleep(0.15)\n")
        #expect(script.contains("time.sleep(0.15)"))
        let server = try await LocalPythonServer.start(
            script, in: root, arguments: [root + "/appended.txt", root + "/port", root + "/requests"], portFile: root + "/port")
        defer { server.stop() }
        let port = server.port

        try WorkflowFaultTests.workflow(port: port).write(toFile: root + "/faulty.json", atomically: true, encoding: .utf8)
        let added = try CLI.run(["workflow", "add", root + "/faulty.json", "--data-dir", data[0]], environment: env)
        try #require(added.status == 0, "\(added.stderr)")
        // Every daemon seals with the same key: copied from the first, as an operator would.
        for dir in data.dropFirst() {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: data[0] + "/workflows.key", toPath: dir + "/workflows.key")
            chmod(dir + "/workflows.key", 0o600)
        }
        // A daemon with another key is refused, saying what to do.
        let stranger = root + "/stranger"
        let refused = try CLI.run(["workflow", "list", "--data-dir", stranger], environment: env)
        #expect(refused.status != 0 && refused.stderr.contains("copy workflows.key"), "\(refused.stderr)")

        var runs: [String] = []
        for i in 0..<9 {
            let queued = try CLI.run(["workflow", "run", "faulty", "--detach", "--data-dir", data[i % 3]], environment: env)
            try #require(queued.status == 0, "\(queued.stderr)")
            runs.append(queued.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }

        func worker(_ i: Int) throws -> BackgroundCommand {
            try BackgroundCommand(
                ["workflow", "worker", "--name", "w\(i + 1)", "--lease", "0.5", "--concurrency", "2", "--data-dir", data[i]],
                environment: env)
        }
        var workers = try (0..<3).map(worker)
        defer { for w in workers where w.process.isRunning { kill(w.process.processIdentifier, SIGKILL) } }

        func history(_ run: String) throws -> [JSONValue] {
            let listed = try CLI.run(["workflow", "history", run, "--json", "--data-dir", data[0]], environment: env)
            return (try? JSONValue(parsing: listed.stdout))?.arrayValue ?? []
        }
        // Kill w1 once it holds a run that has started a step and not finished.
        var victimRun: String?
        for _ in 0..<200 where victimRun == nil {
            for run in runs {
                let events = try history(run)
                let leases = events.filter { $0["event"] == "leased" }.compactMap { $0["detail"]?.stringValue }
                let finished = events.contains { ["completed", "failed", "cancelled"].contains($0["event"]?.stringValue ?? "") }
                if leases.last == "by w1", !finished, events.contains(where: { $0["event"] == "step-completed" }) {
                    victimRun = run
                    break
                }
            }
            if victimRun == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let victim = try #require(victimRun, "w1 never held a run mid-way")
        try #require(workers[0].process.processIdentifier > 0)
        kill(workers[0].process.processIdentifier, SIGKILL)
        _ = try await workers[0].finish(within: 5)

        var statuses: [String] = []
        for _ in 0..<600 {
            let listed = try CLI.run(["workflow", "runs", "--json", "--data-dir", data[1]], environment: env)
            statuses = ((try? JSONValue(parsing: listed.stdout))?.arrayValue ?? []).compactMap { $0["status"]?.stringValue }
            if statuses.count == 9, statuses.allSatisfy({ $0 == "completed" || $0 == "failed" }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        var outputs: [String] = []
        for i in 1..<3 {
            kill(workers[i].process.processIdentifier, SIGKILL)
            outputs.append(try await workers[i].finish(within: 5).output)
        }
        workers = []
        #expect(statuses == Array(repeating: "completed", count: 9), "\(outputs)")

        // The victim's run was taken over by a survivor; the runs spread over all three.
        let victimLeases = try history(victim).filter { $0["event"] == "leased" }.compactMap { $0["detail"]?.stringValue }
        #expect(victimLeases.contains("by w1") && (victimLeases.last == "by w2" || victimLeases.last == "by w3"), "\(victimLeases)")
        var holders: Set<String> = []
        for run in runs {
            holders.formUnion(try history(run).filter { $0["event"] == "leased" }.compactMap { $0["detail"]?.stringValue })
        }
        #expect(holders == ["by w1", "by w2", "by w3"], "\(holders)")

        // Every effect exactly once: one line per key, 45 keys of each kind.
        let counted = try String(contentsOfFile: root + "/appended.txt.count", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(counted.count == 45)
        #expect(Set(counted) == Set(runs.flatMap { run in stride(from: 1, through: 9, by: 2).map { "\(run)/count\($0)" } }))
        let appended = try String(contentsOfFile: root + "/appended.txt", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(appended.count == 45, "\(appended)")
        #expect(Set(appended) == Set(runs.flatMap { run in stride(from: 2, through: 10, by: 2).map { "\(run)/append\($0)" } }))
        let requests = Int((try? String(contentsOfFile: root + "/requests", encoding: .utf8)) ?? "") ?? 0
        #expect(requests >= 90)
        print("workflow 3-worker PostgreSQL test: w1 killed during \(victim), 90 effects, \(requests) requests")
    }
}
