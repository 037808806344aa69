import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaProcessor
import AnimaServer
import AnimaTesting
import AnimaWeb
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore

struct BenchWeb: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "web",
        abstract: "The console's process view against the JSON API for the same processes.",
        discussion: """
            Starts the daemon (scripted model) with the web console on a free port, spawns
            --processes sleeping agent processes, signs a console session in, then in the
            same run, alternating, --runs times each:
              page: GET /web/processes (the server-rendered table and tree, as a browser asks)
              api:  GET /anima/v1/processes (the same processes as JSON, the anchor)
            Reports p50 time to first byte and to last byte of each and the page/api
            ratios (goal <= 2x). The page is complete HTML with a deferred 3 KB script, so
            its last byte is when it can be read and used.

            Example:
              anima-bench web --processes 1000 --runs 50
            """)

    @Option(help: NumericFlag.help("Processes in the table.", 1...10_000), transform: NumericFlag.integer(1...10_000))
    var processes = 1000
    @Option(help: NumericFlag.help("Requests of each kind.", 1...10_000), transform: NumericFlag.integer(1...10_000))
    var runs = 50
    @Flag(
        help: "Set up, print one JSON line (base URL, session cookie, token), and serve until killed, for a browser to measure (console_tti.py).")
    var hold = false

    mutating func run() async throws {
        let data = NSTemporaryDirectory() + "anima-bench-web-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: data) }
        var configuration = ServerConfiguration(dataDirectory: data)
        configuration.port = 0
        configuration.requestsPerMinute = 1_000_000
        let model = ScriptedProcessor(slots: 1, scheduler: Scheduler(), name: "scripted") { _ in .text("ok") }
        var daemon = try Daemon(configuration: configuration, processor: model, engine: nil, embedder: nil)
        daemon.console = try WebConsole.responder(kernel: daemon.kernel, dataDirectory: URL(fileURLWithPath: data), tls: false)
        let alice = Principal(name: "alice", groups: ["users"])
        for i in 0..<processes {
            _ = try await daemon.kernel.spawn(name: "agent-\(i)", owner: alice) { _ in
                try await Task.sleep(for: .seconds(3600))
                return ""
            }
        }
        let token = try await daemon.tokens.create(name: "bench", user: "alice", groups: ["users"], scopes: [.agents]).secret
        let store = try ConsoleStore(directory: URL(fileURLWithPath: data))
        let (code, _) = try await store.enroll(user: "alice", groups: ["users"])
        let passkey = try await store.register(
            Passkey(id: "bench", publicKey: "", signCount: 0, userHandle: "", attestation: "none"),
            code: code)
        let (cookie, _) = try await store.startSession(for: passkey)

        let port = PortBox()
        let app = try daemon.application { port.set($0) }
        let server = Task { try await app.runService() }
        defer { server.cancel() }
        while port.value == 0 { try await Task.sleep(for: .milliseconds(20)) }
        let base = "http://localhost:\(port.value)"
        if hold {
            // Unbuffered, so the script reading the pipe gets the line now.
            let line = jsonLine([("base", .string(base)), ("cookie", .string(cookie)), ("token", .string(token)), ("processes", .number(Double(processes)))])
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
            while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
            return
        }
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(redirectConfiguration: .disallow))
        let clock = ContinuousClock()

        func fetch(_ path: String, headers: [(String, String)]) async throws -> (first: Double, last: Double, bytes: Int) {
            var request = HTTPClientRequest(url: base + path)
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            let start = clock.now
            let response = try await client.execute(request, timeout: .seconds(60))
            let first = seconds(clock.now - start)
            guard response.status == .ok else { throw CLIError("\(path) answered \(response.status)") }
            var bytes = 0
            for try await chunk in response.body { bytes += chunk.readableBytes }
            return (first, seconds(clock.now - start), bytes)
        }
        let page = { try await fetch("/web/processes", headers: [("Cookie", "\(WebConsole.cookieName)=\(cookie)")]) }
        let api = { try await fetch("/anima/v1/processes", headers: [("Authorization", "Bearer \(token)")]) }
        let pageBytes = try await page().bytes  // warm both
        let apiBytes = try await api().bytes
        var pageTimes: [(Double, Double)] = [], apiTimes: [(Double, Double)] = []
        for _ in 0..<runs {
            let p = try await page()
            pageTimes.append((p.first, p.last))
            let a = try await api()
            apiTimes.append((a.first, a.last))
        }
        try await client.shutdown()
        let ms = { (v: Double) in String(format: "%.2f", v * 1000) }
        let pFirst = percentile(pageTimes.map(\.0), 0.5), pLast = percentile(pageTimes.map(\.1), 0.5)
        let aFirst = percentile(apiTimes.map(\.0), 0.5), aLast = percentile(apiTimes.map(\.1), 0.5)
        print("\(processes) processes, \(runs) requests each (p50)")
        print("page  TTFB \(ms(pFirst)) ms  last byte \(ms(pLast)) ms  \(pageBytes) bytes")
        print("api   TTFB \(ms(aFirst)) ms  last byte \(ms(aLast)) ms  \(apiBytes) bytes")
        print(String(format: "ratio page/api: TTFB %.2fx, last byte %.2fx (goal <= 2x)", pFirst / aFirst, pLast / aLast))
        print(
            jsonLine([
                ("processes", .number(Double(processes))), ("page_ttfb_ms", .number(pFirst * 1000)),
                ("page_last_ms", .number(pLast * 1000)),
                ("api_ttfb_ms", .number(aFirst * 1000)), ("api_last_ms", .number(aLast * 1000)),
                ("ratio_ttfb", .number(pFirst / aFirst)), ("ratio_last", .number(pLast / aLast)),
            ]))
    }
}

/// The port the daemon reports once it listens.
final class PortBox: @unchecked Sendable {
    private let lock = NSLock()
    private var port = 0
    func set(_ value: Int) { lock.withLock { port = value } }
    var value: Int { lock.withLock { port } }
}
