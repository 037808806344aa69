import AnimaCore
import AnimaKernel
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@testable import AnimaServer

/// Keeps what is logged through it, so a test can read the daemon's log.
struct CapturedLog: LogHandler {
    private let box: Box
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    final class Box: Sendable {
        let lines = Mutex<[String]>([])
    }

    init(box: Box) { self.box = box }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        box.lines.withLock { $0.append("\(event.level): \(event.message)") }
    }
}

/// A damaged record that storage skips is reported to whoever searched, over REST and MCP,
/// and in the daemon's log: a damaged memory must not pass for a forgetful one.
@Suite("Daemon: damaged memory is reported")
struct DamagedMemoryTests {
    @Test func aSearchThatSkipsADamagedRecordSaysSoEverywhere() async throws {
        let box = CapturedLog.Box()
        let logger = Logger(label: "anima") { _ in CapturedLog(box: box) }
        let d = try await TestDaemon(memory: true, logger: logger)
        try await d.test { client in
            for text in ["The spare key is under the blue pot.", "The spare key was lent to the neighbour."] {
                try await client.execute(
                    uri: "/anima/v1/agent-memory/notes/passages", method: .post, headers: headers(d.admin),
                    body: ByteBuffer(string: #"{"text":"\#(text)"}"#)
                ) {
                    #expect($0.status == .created)
                }
            }
            try await client.execute(uri: "/anima/v1/agent-memory/search?q=spare%20key", method: .get, headers: headers(d.admin)) {
                #expect(json($0).arrayValue?.count == 2)
                #expect($0.headers[NativeRoutes.damagedRecordsHeader] == nil)
            }
        }
        #expect(box.lines.withLock { $0.isEmpty })

        // One flipped byte in the second passage's sealed column, as a bad disk block would.
        let database = try DatabaseQueue(path: d.daemon.configuration.dataDirectory + "/memory/memory.sqlite")
        try await database.write { db in
            var sealed = try #require(try Data.fetchOne(db, sql: "SELECT sealed FROM records WHERE id = 2"))
            sealed[sealed.startIndex + sealed.count / 2] ^= 0x01
            try db.execute(sql: "UPDATE records SET sealed = ? WHERE id = 2", arguments: [sealed])
        }
        try database.close()

        try await d.test { client in
            try await client.execute(uri: "/anima/v1/agent-memory/search?q=spare%20key", method: .get, headers: headers(d.admin)) {
                #expect($0.status == .ok)
                #expect(json($0).arrayValue?.map { $0["text"] } == ["The spare key is under the blue pot."])
                #expect($0.headers[NativeRoutes.damagedRecordsHeader] == "1")
            }
        }
        let logged = box.lines.withLock { $0 }
        #expect(
            logged.count == 1 && logged.first?.contains("warning: memory search for alice: 1 damaged memory record was left out") == true,
            "\(logged)")
        #expect(logged.first?.contains("restore memory/memory.sqlite") == true)

        let sessions = MCPSessions(endpoint: MCPEndpoint(kernel: d.daemon.kernel, logger: logger))
        var mcp = MCPClient(sessions: sessions, principal: Principal(name: "alice", groups: ["users"]), scopes: [.mcp, .memory])
        try await mcp.initialize()
        let result = try await mcp.call("memory_search", ["query": "spare key"])
        #expect(!result.isError)
        #expect(result.text.contains("The spare key is under the blue pot."))
        #expect(result.text.contains("warning: 1 damaged memory record was left out"), "\(result.text)")
        #expect(box.lines.withLock { $0.count } == 2)
    }
}
