import AnimaCore
import AnimaTesting
import Foundation
import Testing

/// Durable runs through the real binary: workers killed with SIGKILL at random moments.
@Suite("anima workflow under kill -9")
struct WorkflowFaultTests {
    /// A counting HTTP server with two effects: POST /count counts, POST /append appends a
    /// line to a file. Every request is counted; its effect happens the first time its
    /// Idempotency-Key is seen (the receiver's half of exactly-once).
    static let server = """
        import http.server, json, sys, threading
        lock = threading.Lock()
        seen = set()
        raw = [0]
        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get('Content-Length') or 0)
                body = json.loads(self.rfile.read(n) or b'{}')
                key = self.headers.get('Idempotency-Key') or ''
                with lock:
                    raw[0] += 1
                    with open(sys.argv[3], 'w') as f:
                        f.write(str(raw[0]))
                    if key not in seen:
                        seen.add(key)
                        if self.path == '/append':
                            with open(sys.argv[1], 'a') as f:
                                f.write(body['line'] + '\\n')
                        else:
                            with open(sys.argv[1] + '.count', 'a') as f:
                                f.write(key + '\\n')
                    reply = json.dumps({'requests': raw[0], 'effects': len(seen)}).encode()
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            def log_message(self, *a):
                pass
        s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
        with open(sys.argv[2], 'w') as f:
            f.write(str(s.server_address[1]))
        s.serve_forever()
        """

    /// Ten steps, alternating a counted call and an append of the step's idempotency key.
    static func workflow(port: String) -> String {
        let steps = (1...10).map { i in
            i % 2 == 1
                ? #"{"id": "count\#(i)", "type": "http", "method": "POST", "url": "http://127.0.0.1:\#(port)/count", "body": {"step": \#(i)}, "retry": {"attempts": 20, "backoff": 0.05}}"#
                : #"{"id": "append\#(i)", "type": "http", "method": "POST", "url": "http://127.0.0.1:\#(port)/append", "body": {"line": "${step.key}"}, "retry": {"attempts": 20, "backoff": 0.05}}"#
        }
        return #"{"name": "faulty", "groups": ["net"], "steps": [\#(steps.joined(separator: ","))]}"#
    }

    @Test(.timeLimit(.minutes(3))) func twentyKillsLoseNothingAndRepeatNothing() async throws {
        let root = NSTemporaryDirectory() + "anima-wf-fault-\(UUID().uuidString)"
        let data = root + "/data"
        let workspaces = root + "/workspaces"
        try FileManager.default.createDirectory(atPath: workspaces, withIntermediateDirectories: true)
        // Tool steps are not used here: each tool call gets a fresh sandbox workspace (named by
        // pid), so a file effect cannot be checked by key across a crash; see the report.
        defer { try? FileManager.default.removeItem(atPath: root) }
        let env = ["ANIMA_WORKSPACES": workspaces]

        let server = try await LocalPythonServer.start(
            Self.server, in: root, arguments: [root + "/appended.txt", root + "/port", root + "/requests"], portFile: root + "/port")
        defer { server.stop() }
        let port = server.port

        try Self.workflow(port: port).write(toFile: root + "/faulty.json", atomically: true, encoding: .utf8)
        let added = try CLI.run(["workflow", "add", root + "/faulty.json", "--data-dir", data], environment: env)
        try #require(added.status == 0, "\(added.stderr)")
        var runs: [String] = []
        for _ in 0..<3 {
            let queued = try CLI.run(["workflow", "run", "faulty", "--detach", "--data-dir", data], environment: env)
            try #require(queued.status == 0, "\(queued.stderr)")
            runs.append(queued.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }

        var random = SplitMix64(seed: 20)
        for _ in 0..<20 {
            let worker = try BackgroundCommand(["workflow", "worker", "--lease", "0.3", "--data-dir", data], environment: env)
            try await Task.sleep(for: .milliseconds(Int64.random(in: 150...700, using: &random)))
            try #require(worker.process.processIdentifier > 0)  // kill(0) would take the test runner's group down
            kill(worker.process.processIdentifier, SIGKILL)
            _ = try await worker.finish(within: 5)
        }
        // One last worker, left alone, finishes whatever is left.
        let last = try BackgroundCommand(["workflow", "worker", "--lease", "0.3", "--data-dir", data], environment: env)
        var statuses: [String] = []
        for _ in 0..<300 {
            let listed = try CLI.run(["workflow", "runs", "--json", "--data-dir", data], environment: env)
            statuses = ((try? JSONValue(parsing: listed.stdout))?.arrayValue ?? []).compactMap { $0["status"]?.stringValue }
            if statuses.count == 3, statuses.allSatisfy({ $0 == "completed" || $0 == "failed" }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        try #require(last.process.processIdentifier > 0)
        kill(last.process.processIdentifier, SIGKILL)
        let lastOutput = try await last.finish(within: 5)
        #expect(statuses == ["completed", "completed", "completed"], "\(lastOutput.output)")

        // Every effect happened exactly once: one line per key, fifteen keys of each kind.
        let counted = try String(contentsOfFile: root + "/appended.txt.count", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(
            counted.count == 15
                && Set(counted) == Set(runs.flatMap { run in stride(from: 1, through: 9, by: 2).map { "\(run)/count\($0)" } }))
        let appended = try String(contentsOfFile: root + "/appended.txt", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(appended.count == 15, "\(appended)")
        #expect(Set(appended) == Set(runs.flatMap { run in stride(from: 2, through: 10, by: 2).map { "\(run)/append\($0)" } }))
        // How many requests arrived in all: more than 30 when a kill fell between a request and its record.
        let requests = Int((try? String(contentsOfFile: root + "/requests", encoding: .utf8)) ?? "") ?? 0
        #expect(requests >= 30)
        print("workflow fault test: 20 kills, 30 effects, \(requests) requests")
    }

    /// The same effects when the process killed is `anima serve` itself (the real daemon on
    /// the default model): five kills at random moments, then a daemon left alone finishes.
    @Test(.timeLimit(.minutes(4))) func killingTheDaemonLosesNothingAndRepeatsNothing() async throws {
        let root = NSTemporaryDirectory() + "anima-wf-serve-fault-\(UUID().uuidString)"
        let data = root + "/data"
        try FileManager.default.createDirectory(atPath: root + "/workspaces", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let env = ["ANIMA_WORKSPACES": root + "/workspaces", "XDG_RUNTIME_DIR": root + "/run"]
        let script = Self.server
            .replacingOccurrences(of: "import http.server, json, sys, threading", with: "import http.server, json, sys, threading, time")
            .replacingOccurrences(of: "    def do_POST(self):\n", with: "    def do_POST(self):\n        time.sleep(0.25)\n")
        try script.write(toFile: root + "/server.py", atomically: true, encoding: .utf8)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = [root + "/server.py", root + "/appended.txt", root + "/port", root + "/requests"]
        try server.run()
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        var port = ""
        for _ in 0..<100 where port.isEmpty {
            try await Task.sleep(for: .milliseconds(50))
            port = (try? String(contentsOfFile: root + "/port", encoding: .utf8)) ?? ""
        }
        try #require(!port.isEmpty)
        try Self.workflow(port: port).write(toFile: root + "/faulty.json", atomically: true, encoding: .utf8)
        try #require(try CLI.run(["workflow", "add", root + "/faulty.json", "--data-dir", data], environment: env).status == 0)
        var runs: [String] = []
        for _ in 0..<2 {
            let queued = try CLI.run(["workflow", "run", "faulty", "--detach", "--data-dir", data], environment: env)
            try #require(queued.status == 0, "\(queued.stderr)")
            runs.append(queued.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }

        /// Starts `anima serve` and waits until it serves.
        func daemon() async throws -> BackgroundCommand {
            let d = try BackgroundCommand(
                ["serve", "--port", "0", "--slots", "1", "--context", "512", "--data-dir", data], environment: env)
            for _ in 0..<600 {
                let log = String(decoding: (try? Data(contentsOf: d.output)) ?? Data(), as: UTF8.self)
                if log.contains("anima serving") || !d.process.isRunning { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            try #require(d.process.isRunning, "anima serve did not start")
            return d
        }
        var random = SplitMix64(seed: 24)
        for _ in 0..<5 {
            let d = try await daemon()
            try await Task.sleep(for: .milliseconds(Int64.random(in: 200...900, using: &random)))
            try #require(d.process.processIdentifier > 0)
            kill(d.process.processIdentifier, SIGKILL)
            _ = try await d.finish(within: 5)
        }
        let last = try await daemon()
        var statuses: [String] = []
        for _ in 0..<600 {
            let listed = try CLI.run(["workflow", "runs", "--json", "--data-dir", data], environment: env)
            statuses = ((try? JSONValue(parsing: listed.stdout))?.arrayValue ?? []).compactMap { $0["status"]?.stringValue }
            if statuses.count == 2, statuses.allSatisfy({ $0 == "completed" || $0 == "failed" }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        kill(last.process.processIdentifier, SIGKILL)
        let lastOutput = try await last.finish(within: 5)
        #expect(statuses == ["completed", "completed"], "\(lastOutput.output.suffix(2000))")
        let counted = try String(contentsOfFile: root + "/appended.txt.count", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(Set(counted) == Set(runs.flatMap { run in stride(from: 1, through: 9, by: 2).map { "\(run)/count\($0)" } }))
        #expect(counted.count == 10)
        let appended = try String(contentsOfFile: root + "/appended.txt", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(
            appended.count == 10
                && Set(appended) == Set(runs.flatMap { run in stride(from: 2, through: 10, by: 2).map { "\(run)/append\($0)" } }))
        // A kill fell mid-run: a later daemon took the run back (each lease is in its history).
        let leases = try CLI.run(["workflow", "history", runs[0], "--json", "--data-dir", data], environment: env)
        let resumed = ((try? JSONValue(parsing: leases.stdout))?.arrayValue ?? []).filter { $0["event"] == "leased" }.count
        #expect(resumed >= 2, "run 0 was never resumed by a later daemon: the kills missed it")
        print("workflow serve fault test: 5 kills of anima serve, 20 effects, run 0 leased \(resumed) times")
    }

    /// What a user sees for a bad file, a missing workflow and a run's output, through the binary.
    @Test func badFilesAndRunsThroughTheBinary() throws {
        let data = NSTemporaryDirectory() + "anima-wf-cli-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: data) }
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try #"{"name": "bad", "steps": [{"id": "fetch", "type": "http", "url": "ftp://x"}]}"#.write(
            toFile: data + "/bad.json", atomically: true, encoding: .utf8)
        let bad = try CLI.run(["workflow", "add", data + "/bad.json", "--data-dir", data])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("step `fetch`, field `url`: `ftp://x` is not an http or https URL"), "\(bad.stderr)")
        let groups = try CLI.run(["workflow", "worker", "--groups", "net,Bad Group", "--data-dir", data])
        #expect(groups.status != 0 && groups.stderr.contains("\"Bad Group\" is not a valid name"), "\(groups.stderr)")
        let missing = try CLI.run(["workflow", "run", "nothing", "--data-dir", data])
        #expect(missing.status != 0 && missing.stderr.contains("no workflow named nothing"), "\(missing.stderr)")
        try #"{"name": "calc", "steps": [{"id": "t", "type": "tool", "tool": "calculator", "arguments": {"expression": "${inputs.x}*7"}}]}"#
            .write(
                toFile: data + "/calc.json", atomically: true, encoding: .utf8)
        #expect(try CLI.run(["workflow", "add", data + "/calc.json", "--data-dir", data]).status == 0)
        let run = try CLI.run(["workflow", "run", "calc", "--input", "x=6", "--data-dir", data])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == #""42""#)

        // list, show, cancel and remove, as a user types them.
        let listed = try CLI.run(["workflow", "list", "--data-dir", data])
        #expect(listed.status == 0 && listed.stdout.contains("calc"), "\(listed.stdout)")
        let shown = try CLI.run(["workflow", "show", "calc", "--data-dir", data])
        #expect(shown.status == 0 && shown.stdout.contains("calculator"), "\(shown.stdout)")
        try #"{"name": "slow", "steps": [{"id": "w", "type": "wait", "seconds": 3600}]}"#.write(
            toFile: data + "/slow.json", atomically: true, encoding: .utf8)
        #expect(try CLI.run(["workflow", "add", data + "/slow.json", "--data-dir", data]).status == 0)
        let queued = try CLI.run(["workflow", "run", "slow", "--detach", "--data-dir", data])
        let id = queued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(queued.status == 0 && !id.isEmpty, "\(queued.stderr)")
        let cancelled = try CLI.run(["workflow", "cancel", id, "--data-dir", data])
        #expect(cancelled.status == 0 && cancelled.stdout.contains("cancelling \(id)"), "\(cancelled.stdout) \(cancelled.stderr)")
        let history = try CLI.run(["workflow", "history", id, "--json", "--data-dir", data])
        #expect(((try? JSONValue(parsing: history.stdout))?.arrayValue ?? []).contains { $0["event"] == "cancel-requested" })
        let unknown = try CLI.run(["workflow", "cancel", "no-such-run", "--data-dir", data])
        #expect(unknown.status != 0 && unknown.stderr.contains("no-such-run"), "\(unknown.stderr)")
        #expect(try CLI.run(["workflow", "remove", "calc", "--data-dir", data]).status == 0)
        let gone = try CLI.run(["workflow", "show", "calc", "--data-dir", data])
        #expect(gone.status != 0 && gone.stderr.contains("calc"), "\(gone.stderr)")
    }
}
