import AnimaAutomation
import AnimaCore
import AnimaTesting
import Foundation
import Testing

/// HTTP steps wait on I/O side by side: a daemon's runs calling one service are not queued
/// behind a handful of connections.
@Suite("HTTP steps in parallel")
struct HTTPStepConcurrencyTests {
    /// Holds each request until `want` are in flight at once (or 10 s pass), then answers
    /// with the most it saw in flight.
    static let server = """
        import http.server, json, sys, threading
        want = int(sys.argv[2])
        cond = threading.Condition()
        state = {'now': 0, 'most': 0}
        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get('Content-Length') or 0))
                with cond:
                    state['now'] += 1
                    state['most'] = max(state['most'], state['now'])
                    cond.notify_all()
                    cond.wait_for(lambda: state['most'] >= want, timeout=10)
                    most = state['most']
                    state['now'] -= 1
                reply = json.dumps({'most': most}).encode()
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            def log_message(self, *a):
                pass
        class S(http.server.ThreadingHTTPServer):
            request_queue_size = 256
            daemon_threads = True
        s = S(('127.0.0.1', 0), H)
        with open(sys.argv[1], 'w') as f:
            f.write(str(s.server_address[1]))
        s.serve_forever()
        """

    @Test(.timeLimit(.minutes(1))) func thirtyTwoRunsCallingOneHostAreAllInFlightAtOnce() async throws {
        let root = NSTemporaryDirectory() + "anima-http-parallel-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let want = 32
        let server = try await LocalPythonServer.start(Self.server, in: root, arguments: [root + "/port", String(want)], portFile: root + "/port")
        defer { server.stop() }
        let port = server.port

        let store = try SQLiteWorkflowStore(directory: URL(fileURLWithPath: root + "/data"))
        let engine = WorkflowEngine(store: store, actions: KernelStepActions(kernel: nil), pollInterval: .milliseconds(10))
        _ = try await engine.add(
            #"{"name": "call", "groups": ["net"], "steps": [{"id": "c", "type": "http", "method": "POST", "url": "http://127.0.0.1:\#(port)/", "body": {}, "timeout": 30}]}"#,
            owner: alice)
        var ids: [String] = []
        for _ in 0..<want { ids.append(try await engine.start("call", caller: alice).id) }
        var most: [Double] = []
        for id in ids {
            let run = try await engine.wait(id)
            #expect(run.status == .completed, "\(run.error ?? "")")
            most.append(run.output?.value["body"]?["most"]?.numberValue ?? 0)
        }
        #expect(most.max() == Double(want), "at most \(most.max() ?? 0) requests were in flight at once")
    }
}
