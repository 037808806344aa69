import AnimaCore
import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The hang-up and shutdown rules of `/v1/chat/completions` on every other route that does
/// long work (issue 14, M5 and M7): a client that leaves stops its work, SIGTERM gives work
/// the grace period and no more, and every request on a kept-alive connection must send its
/// header in time.
@Suite("anima serve: hang-ups and shutdown on every long route", .serialized)
struct ServeHangUpTests {
    static func words(_ count: Int) -> String { Array(repeating: "word", count: count).joined(separator: " ") }

    static func post(_ daemon: ServeTests.Daemon, _ path: String, _ body: String, headers: [String: String] = [:]) -> URLRequest {
        var request = URLRequest(url: URL(string: daemon.url + path)!)
        request.httpMethod = "POST"
        request.setValue("Bearer \(daemon.token)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = Data(body.utf8)
        request.timeoutInterval = 120
        return request
    }

    /// A raw request that the test can walk away from.
    static func raw(_ daemon: ServeTests.Daemon, _ path: String, _ body: String, headers: [String: String] = [:]) throws -> RawConnection {
        let connection = try RawConnection(daemon.url)
        let port = URL(string: daemon.url)?.port ?? 0
        var head =
            "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAuthorization: Bearer \(daemon.token)\r\nContent-Type: application/json\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        connection.send(head + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
        return connection
    }

    /// How long a short chat completion waits for the daemon's one slot.
    static func secondsForTheSlot(_ daemon: ServeTests.Daemon) async throws -> Double {
        let started = Date()
        let (data, response) = try await URLSession.shared.data(
            for: post(daemon, "/v1/chat/completions", #"{"model":"scripted","messages":[{"role":"user","content":"hi"}]}"#))
        #expect((response as? HTTPURLResponse)?.statusCode == 200, "\(String(decoding: data, as: UTF8.self))")
        return Date().timeIntervalSince(started)
    }

    /// An MCP session on the daemon: its ID.
    static func mcpSession(_ daemon: ServeTests.Daemon) async throws -> String {
        let initialize =
            #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#
        let (data, response) = try await URLSession.shared.data(
            for: post(daemon, "/mcp", initialize, headers: ["Accept": "application/json, text/event-stream"]))
        let http = try #require(response as? HTTPURLResponse)
        return try #require(http.value(forHTTPHeaderField: "Mcp-Session-Id"), "\(http.statusCode) \(String(decoding: data, as: UTF8.self))")
    }

    static func runAgentCall(_ task: String) -> String {
        #"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"run_agent","arguments":{"task":"\#(task)","max_steps":1}}}"#
    }

    /// One slot; a streamed agent run of about 40 s whose client leaves after a second.
    /// The agent is terminated and the next request gets the slot at once.
    @Test func aClientThatLeavesAnAgentRunStopsTheAgent() async throws {
        let daemon = try await ServeTests.Daemon(["--scripted", "--scripted-delay-ms", "50", "--slots", "1", "--policy", "fifo"])
        defer { if daemon.process.process.isRunning { daemon.process.process.terminate() } }
        let leaving = try Self.raw(daemon, "/anima/v1/agents/run", #"{"task":"\#(Self.words(800))","max_steps":1}"#)
        try await Task.sleep(for: .seconds(1))
        leaving.close()
        let waited = try await Self.secondsForTheSlot(daemon)
        #expect(waited < 20, "the next request waited \(waited) s for the abandoned agent")
        daemon.process.process.terminate()
        _ = try await daemon.process.finish(within: 30)
    }

    /// SIGTERM while a short streamed agent run is in flight: it gets the grace period to
    /// finish (it was terminated at once), and the daemon then exits.
    @Test func sigtermLetsAnAgentRunFinishWithinTheGracePeriod() async throws {
        let daemon = try await ServeTests.Daemon(["--scripted", "--scripted-delay-ms", "50", "--shutdown-grace", "30"])
        let request = Self.post(daemon, "/anima/v1/agents/run", #"{"task":"\#(Self.words(60))","max_steps":1}"#)
        let run = Task { try await URLSession.shared.data(for: request) }
        try await Task.sleep(for: .seconds(1))
        kill(daemon.process.process.processIdentifier, SIGTERM)
        let (data, _) = try await run.value
        let stream = String(decoding: data, as: UTF8.self)
        #expect(stream.contains("event: exited"), "\(stream)")
        #expect(stream.contains("\"answer\""), "the agent did not finish: \(stream.suffix(300))")
        let (status, log) = try await daemon.process.finish(within: 60)
        #expect(status == 0, "\(log)")
    }

    /// SIGTERM while a client waits for a 40-second process: the wait gets the grace period
    /// (1 s), then a 503, and the daemon exits instead of waiting for the process.
    @Test func sigtermEndsAWaitAfterTheGracePeriod() async throws {
        let daemon = try await ServeTests.Daemon(["--scripted", "--scripted-delay-ms", "50", "--shutdown-grace", "1"])
        defer { if daemon.process.process.isRunning { daemon.process.process.terminate() } }
        let (spawned, _) = try await URLSession.shared.data(
            for: Self.post(daemon, "/anima/v1/processes", #"{"task":"\#(Self.words(800))","max_steps":1}"#))
        let pid = try #require(try JSONValue(parsing: String(decoding: spawned, as: UTF8.self))["pid"]?.numberValue)
        var wait = URLRequest(url: URL(string: daemon.url + "/anima/v1/processes/\(Int(pid))/wait")!)
        wait.setValue("Bearer \(daemon.token)", forHTTPHeaderField: "Authorization")
        wait.timeoutInterval = 120
        let request = wait
        let waiting = Task { try await URLSession.shared.data(for: request) }
        try await Task.sleep(for: .seconds(1))
        let signalled = Date()
        kill(daemon.process.process.processIdentifier, SIGTERM)
        let (data, response) = try await waiting.value
        #expect((response as? HTTPURLResponse)?.statusCode == 503, "\(String(decoding: data, as: UTF8.self))")
        let (_, log) = try await daemon.process.finish(within: 60)
        #expect(Date().timeIntervalSince(signalled) < 20, "the daemon waited for the process: \(log)")
    }

    /// An MCP client that calls run_agent and leaves: the agent is terminated and frees the
    /// one slot; SIGTERM during another such call ends it after the grace period.
    @Test func mcpCallsStopWhenTheClientLeavesAndAtShutdown() async throws {
        let daemon = try await ServeTests.Daemon([
            "--scripted", "--scripted-delay-ms", "50", "--slots", "1", "--policy", "fifo", "--shutdown-grace", "1",
        ])
        defer { if daemon.process.process.isRunning { daemon.process.process.terminate() } }
        let session = try await Self.mcpSession(daemon)
        let mcpHeaders = ["Accept": "application/json, text/event-stream", "Mcp-Session-Id": session]
        let leaving = try Self.raw(daemon, "/mcp", Self.runAgentCall(Self.words(800)), headers: mcpHeaders)
        try await Task.sleep(for: .seconds(1))
        leaving.close()
        let waited = try await Self.secondsForTheSlot(daemon)
        #expect(waited < 20, "the next request waited \(waited) s for the abandoned MCP agent")

        let request = Self.post(daemon, "/mcp", Self.runAgentCall(Self.words(800)), headers: mcpHeaders)
        let call = Task { try await URLSession.shared.data(for: request) }
        try await Task.sleep(for: .seconds(1))
        let signalled = Date()
        kill(daemon.process.process.processIdentifier, SIGTERM)
        let (data, _) = try await call.value
        #expect(String(decoding: data, as: UTF8.self).contains("did not finish"), "\(String(decoding: data, as: UTF8.self))")
        let (_, log) = try await daemon.process.finish(within: 60)
        #expect(Date().timeIntervalSince(signalled) < 20, "the daemon waited for the MCP call: \(log)")
    }

    /// The header timeout holds for every request on a kept-alive connection, not only the
    /// first: half a second header is closed after it, not after the idle timeout.
    @Test func everyRequestOnAKeptAliveConnectionMustSendItsHeaderInTime() async throws {
        let daemon = try await ServeTests.Daemon(["--scripted", "--request-header-timeout", "2", "--idle-timeout", "120"])
        defer { if daemon.process.process.isRunning { daemon.process.process.terminate() } }
        let connection = try RawConnection(daemon.url)
        connection.send("GET /health HTTP/1.1\r\nHost: anima\r\n\r\n")
        let first = connection.read(until: "\"ok\"", within: 10)
        #expect(first?.contains("200 OK") == true, "\(first ?? "no answer")")
        // Kept alive and quiet for longer than the header timeout: that is idle, and allowed.
        try await Task.sleep(for: .seconds(3))
        connection.send("GET /health HTTP/1.1\r\nHost: anima\r\n\r\n")
        #expect(connection.read(until: "\"ok\"", within: 10)?.contains("200 OK") == true, "an idle keep-alive connection was closed early")
        // Half a header: closed once the header timeout passes.
        connection.send("GET /health HTTP/1.1\r\nHost: anima\r\n")
        let started = Date()
        #expect(connection.readUntilClosed(within: 15) != nil, "half a second header held the connection open")
        #expect(Date().timeIntervalSince(started) < 10)
        daemon.process.process.terminate()
        _ = try await daemon.process.finish(within: 30)
    }
}
