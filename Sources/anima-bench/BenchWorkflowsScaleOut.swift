import AnimaAutomation
import AnimaCore
import AnimaTesting
import AsyncHTTPClient
import Foundation
import NIOCore

/// The scale-out measure of `anima-bench workflows`: `anima workflow worker` processes (the
/// daemon's engine without its HTTP side), 1 and then 3, sharing one PostgreSQL run queue,
/// on runs of HTTP steps that each wait on a local server answering after a fixed delay.
extension BenchWorkflows {
    /// Answers every POST after `delay` seconds, once `/go` has opened the gate; `/waiting`
    /// says how many requests wait at the gate, `/done` how many were answered and the
    /// seconds from the gate opening to the last answer. `/close` shuts the gate again.
    static let delayServer = """
        import http.server, json, sys, threading, time
        delay = float(sys.argv[2])
        lock = threading.Lock()
        gate = threading.Event()
        state = {'waiting': 0, 'answered': 0, 'opened': 0.0, 'last': 0.0}
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            def do_GET(self):
                with lock:
                    reply = json.dumps({'waiting': state['waiting'], 'answered': state['answered'],
                                        'seconds': state['last'] - state['opened']}).encode()
                self.answer(reply)
            def do_POST(self):
                self.rfile.read(int(self.headers.get('Content-Length') or 0))
                if self.path == '/go':
                    with lock:
                        state.update(answered=0, opened=time.monotonic(), last=time.monotonic())
                    gate.set()
                elif self.path == '/close':
                    gate.clear()
                else:
                    with lock:
                        state['waiting'] += 1
                    gate.wait()
                    with lock:
                        state['waiting'] -= 1
                    time.sleep(delay)
                    with lock:
                        state['answered'] += 1
                        state['last'] = time.monotonic()
                self.answer(b'{}')
            def answer(self, reply):
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            def log_message(self, *a):
                pass
        class S(http.server.ThreadingHTTPServer):
            request_queue_size = 1024
            daemon_threads = True
        s = S(('127.0.0.1', 0), H)
        with open(sys.argv[1], 'w') as f:
            f.write(str(s.server_address[1]))
        s.serve_forever()
        """

    struct DelayServer {
        let process: Process
        let port: String

        func call(_ path: String, post: Bool = false) async throws -> JSONValue {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
            request.method = post ? .POST : .GET
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            return try JSONValue(parsing: String(buffer: try await response.body.collect(upTo: 1 << 16)))
        }
    }

    static func startDelayServer(in directory: URL, delay: Double) async throws -> DelayServer {
        let server = try await LocalPythonServer.start(
            delayServer, in: directory.path, name: "delay_server.py",
            arguments: [directory.appendingPathComponent("delay.port").path, String(delay)],
            portFile: directory.appendingPathComponent("delay.port").path)
        return DelayServer(process: server.process, port: server.port)
    }

    struct BenchError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// The `anima` binary built beside this one.
    static var animaBinary: String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("anima").path
    }

    /// One round with `workers` worker processes: `runs` runs of `steps` HTTP steps are queued,
    /// the workers start and lease what their slots allow (each step's request held at the
    /// server's gate), then the gate opens; returns steps per second from the gate opening to
    /// the last answer.
    func scaleOutRound(
        workers count: Int, database: String, directory: URL, server: DelayServer, engine: WorkflowEngine, owner: Principal
    ) async throws -> Double {
        _ = try await server.call("/close", post: true)
        var ids: [String] = []
        for _ in 0..<ioRuns { ids.append(try await engine.start("io", caller: owner, dispatch: false).id) }
        let key = directory.appendingPathComponent("workflows.key").path
        var processes: [Process] = []
        defer { for p in processes { ChildProcess.kill(p) } }
        for i in 0..<count {
            let data = directory.appendingPathComponent("worker-\(count)-\(i)")
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            if !FileManager.default.fileExists(atPath: data.appendingPathComponent("workflows.key").path) {
                try FileManager.default.copyItem(atPath: key, toPath: data.appendingPathComponent("workflows.key").path)
            }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.animaBinary)
            p.arguments = [
                "workflow", "worker", "--database", database, "--data-dir", data.path, "--name", "bench-\(count)-\(i)",
                "--concurrency", String(ioConcurrency),
            ]
            var environment = ProcessInfo.processInfo.environment
            environment["ANIMA_WORKSPACES"] = data.appendingPathComponent("workspaces").path
            p.environment = environment
            p.standardOutput = FileHandle.nullDevice
            p.standardError = try FileHandle(forWritingTo: {
                let log = data.appendingPathComponent("worker.log")
                FileManager.default.createFile(atPath: log.path, contents: nil)
                return log
            }())
            try p.run()
            processes.append(p)
        }
        // Every slot of every worker holds a run whose first request waits at the gate.
        let full = min(ioRuns, count * ioConcurrency)
        var waiting = 0
        for _ in 0..<1200 {
            waiting = Int(try await server.call("/state")["waiting"]?.numberValue ?? 0)
            if waiting >= full { break }
            if let dead = processes.first(where: { !$0.isRunning }) {
                throw BenchError("a worker exited (status \(dead.terminationStatus)); see its worker.log under \(directory.path)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard waiting >= full else { throw BenchError("only \(waiting) of \(full) slots were busy after 120 s") }
        _ = try await server.call("/go", post: true)
        let total = ioRuns * ioSteps
        var state: JSONValue = [:]
        while true {
            state = try await server.call("/state")
            if Int(state["answered"]?.numberValue ?? 0) >= total { break }
            if processes.allSatisfy({ !$0.isRunning }) { throw BenchError("every worker exited before the runs finished") }
            try await Task.sleep(for: .milliseconds(50))
        }
        let seconds = state["seconds"]?.numberValue ?? 0
        // The runs' ends are committed just after their last answer: all must complete.
        for id in ids {
            let run = try await engine.wait(id)
            guard run.status == .completed else { throw BenchError("run \(id) ended \(run.status.rawValue): \(run.error ?? "")") }
        }
        return Double(total) / seconds
    }

    /// 1 worker against 3 in alternating rounds; prints each round and the median ratio.
    func scaleOut(database: String?, directory: URL, store: any WorkflowStore, owner: Principal) async throws {
        guard let database else {
            print("scale-out: measured with --database (the daemons share one PostgreSQL run queue)")
            return
        }
        guard FileManager.default.isExecutableFile(atPath: Self.animaBinary) else {
            throw BenchError("\(Self.animaBinary) is missing: build the `anima` product first")
        }
        let server = try await Self.startDelayServer(in: directory, delay: ioDelay)
        defer { ChildProcess.kill(server.process) }
        let engine = WorkflowEngine(store: store, actions: NoActions(), pollInterval: .milliseconds(20))
        let io = (1...ioSteps).map {
            #"{"id": "call\#($0)", "type": "http", "method": "POST", "url": "http://127.0.0.1:\#(server.port)/step", "body": {}, "timeout": 300}"#
        }.joined(separator: ",")
        _ = try await engine.add(#"{"name": "io", "groups": ["net"], "steps": [\#(io)]}"#, owner: owner)
        print(
            "scale-out: \(ioRuns) runs of \(ioSteps) HTTP steps answered after \(ioDelay) s, `anima workflow worker` processes with --concurrency \(ioConcurrency)"
        )
        print("round\t1 worker steps/s\t3 workers steps/s\tratio")
        var ratios: [Double] = []
        for round in 1...rounds {
            let one = try await scaleOutRound(workers: 1, database: database, directory: directory, server: server, engine: engine, owner: owner)
            let three = try await scaleOutRound(
                workers: 3, database: database, directory: directory, server: server, engine: engine, owner: owner)
            ratios.append(three / one)
            print("\(round)\t\(String(format: "%.1f", one))\t\(String(format: "%.1f", three))\t\(String(format: "%.2f", three / one))")
        }
        print("median 3 workers / 1 worker: \(String(format: "%.2f", Self.median(ratios)))")
    }
}
