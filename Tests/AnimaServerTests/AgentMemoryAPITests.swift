import AnimaCore
import AnimaKernel
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AnimaServer

/// The memory API as a bulk importer and a careful searcher use it: batches all or
/// nothing, dates of their own, filters, a total limit with offsets and ranks; and every
/// absurd number refused with the parameter's name.
@Suite("Daemon: agent memory API")
struct AgentMemoryAPITests {
    static let batch = #"""
        {"passages": [
          {"text": "Moved to Porto in May", "tags": ["move", "home"], "happened": "2023-05-07", "source": "import"},
          {"text": "Porto flat has a balcony", "tags": ["home"], "happened": "2023-06-01T10:00:00Z"},
          {"text": "Porto trip planned by the agent", "source": "agent", "happened": 1700000000},
          {"text": "Porto weather page: rain", "source": "tool", "trust": "unverified"}
        ]}
        """#

    @Test func aBatchIsSavedAndSearchedWithFiltersPagesAndRanks() async throws {
        let d = try await TestDaemon(memory: true)
        try await d.test { client in
            try await client.execute(
                uri: "/anima/v1/agent-memory/notes/passages", method: .post, headers: headers(d.admin), body: ByteBuffer(string: Self.batch)
            ) {
                #expect($0.status == .created)
                #expect(json($0)["ids"] == [1, 2, 3, 4])
            }
            // Time range: when they happened, not when they were stored (today).
            try await client.execute(
                uri: "/anima/v1/agent-memory/search?q=Porto&after=2023-05-01&before=2023-06-01", method: .get, headers: headers(d.admin)
            ) {
                let rows = json($0).arrayValue ?? []
                #expect(rows.map { $0["text"] } == ["Moved to Porto in May"])
                #expect(rows.first?["tags"] == ["move", "home"])
                #expect(rows.first?["happened"] == "2023-05-07T00:00:00Z")
                #expect(rows.first?["source"] == "import")
                #expect(rows.first?["trust"] == "trusted")
                #expect(rows.first?["rank"] == 1)
                #expect($0.headers[NativeRoutes.hasMoreHeader] == "false")
            }
            try await client.execute(uri: "/anima/v1/agent-memory/search?q=Porto&tags=home", method: .get, headers: headers(d.admin)) {
                #expect(Set((json($0).arrayValue ?? []).compactMap { $0["id"]?.numberValue }) == [1, 2])
            }
            try await client.execute(
                uri: "/anima/v1/agent-memory/search?q=Porto&sources=agent,tool", method: .get, headers: headers(d.admin)
            ) {
                #expect(Set((json($0).arrayValue ?? []).compactMap { $0["id"]?.numberValue }) == [3, 4])
            }
            // limit and offset count the whole result; ranks run on across pages.
            var seen: [Double] = []
            for offset in 0..<4 {
                try await client.execute(
                    uri: "/anima/v1/agent-memory/search?q=Porto&limit=1&offset=\(offset)", method: .get, headers: headers(d.admin)
                ) {
                    let rows = json($0).arrayValue ?? []
                    #expect(rows.count == 1)
                    #expect(rows.first?["rank"]?.numberValue == Double(offset + 1))
                    #expect($0.headers[NativeRoutes.hasMoreHeader] == (offset < 3 ? "true" : "false"))
                    seen += rows.compactMap { $0["id"]?.numberValue }
                }
            }
            #expect(Set(seen).count == 4)
            // No words, only filters: the matching records, newest first (when they happened).
            try await client.execute(uri: "/anima/v1/agent-memory/search?tags=home", method: .get, headers: headers(d.admin)) {
                let ids = (json($0).arrayValue ?? []).compactMap { row in row["id"]?.numberValue }
                #expect($0.status == .ok)
                #expect(ids == [2, 1])
            }
            try await client.execute(
                uri: "/anima/v1/agent-memory/search?q=%20&after=2023-05-01&sources=import,user", method: .get, headers: headers(d.admin)
            ) {
                let rows = json($0).arrayValue ?? []
                let happened = rows.compactMap { row in row["happened"]?.stringValue }
                let ids = rows.compactMap { row in row["id"]?.numberValue }
                #expect(happened.first == "2023-06-01T10:00:00Z", "\(rows)")
                #expect(ids.contains(1) && !ids.contains(3), "\(ids)")
            }
            // Neither words nor a filter: refused, naming q.
            for uri in ["/anima/v1/agent-memory/search", "/anima/v1/agent-memory/search?q=%20%20&agent=notes"] {
                try await client.execute(uri: uri, method: .get, headers: headers(d.admin)) {
                    #expect($0.status == .badRequest)
                    #expect(json($0)["error"]?["param"] == "q", "\(json($0))")
                }
            }
        }
    }

    @Test func aBatchWithOneBadPassageSavesNothingAndNamesIt() async throws {
        let d = try await TestDaemon(memory: true)
        let bad: [(String, String)] = [
            (#"{"text": "fine"}, {"text": "   "}"#, "passages[1]"),
            (#"{"text": "fine"}, {"text": "x", "happened": 1e300}"#, "passages[1]"),
            (#"{"text": "fine"}, {"text": "x", "happened": "NaN"}"#, "passages[1]"),
            (#"{"text": "fine"}, {"text": "x", "happened": -1e300}"#, "passages[1]"),
            (#"{"text": "fine"}, {"text": "x", "happend": "2023-01-01"}"#, "passages[1]"),
            (#"{"text": "fine"}, {"text": "x", "source": "martians"}"#, "passages[1]"),
            (#"{"text": "fine"}, {"text": "x", "tags": [""]}"#, "tag"),
            (#"{"text": "fine"}, 42"#, "passages[1]"),
        ]
        try await d.test { client in
            for (items, named) in bad {
                try await client.execute(
                    uri: "/anima/v1/agent-memory/notes/passages", method: .post, headers: headers(d.admin),
                    body: ByteBuffer(string: #"{"passages": ["# + items + "]}")
                ) {
                    #expect($0.status == .badRequest, "\(items)")
                    #expect(json($0)["error"]?["message"]?.stringValue?.contains(named) == true, "\(items): \(json($0))")
                }
            }
            for body in [#"{"passages": []}"#, #"{"passages": "no"}"#, #"{"passages": [{"text": "a"}], "text": "b"}"#] {
                try await client.execute(
                    uri: "/anima/v1/agent-memory/notes/passages", method: .post, headers: headers(d.admin), body: ByteBuffer(string: body)
                ) { #expect($0.status == .badRequest, "\(body)") }
            }
            // Nothing of any refused batch was kept.
            try await client.execute(uri: "/anima/v1/agent-memory/search?q=fine", method: .get, headers: headers(d.admin)) {
                #expect(json($0).arrayValue?.isEmpty == true, "\(json($0))")
            }
            let refused = [
                "limit=0", "limit=1001", "limit=1e300", "limit=-1", "limit=9223372036854775808", "offset=-1", "offset=1e300",
                "offset=999&limit=2", "after=NaN", "after=1e300", "before=-1e300", "after=2024-13-45", "sources=martians",
                "after=2024-02-01&before=2024-01-01", "agent=../x",
            ]
            for query in refused {
                try await client.execute(uri: "/anima/v1/agent-memory/search?q=fine&\(query)", method: .get, headers: headers(d.admin)) {
                    #expect($0.status == .badRequest, "\(query)")
                }
            }
        }
    }

    /// A batch is one request: a token limited to 2 requests a minute imports 2000 passages.
    @Test func aBatchCountsOnceAgainstTheRateLimit() async throws {
        let d = try await TestDaemon(requestsPerMinute: 2, memory: true)
        let passages = (0..<1000).map { #"{"text": "passage number \#($0) about walruses"}"# }.joined(separator: ",")
        try await d.test { client in
            for _ in 0..<2 {
                try await client.execute(
                    uri: "/anima/v1/agent-memory/bulk/passages", method: .post, headers: headers(d.admin),
                    body: ByteBuffer(string: #"{"passages": ["# + passages + "]}")
                ) { #expect($0.status == .created) }
            }
            try await client.execute(uri: "/anima/v1/agent-memory/search?q=walruses", method: .get, headers: headers(d.admin)) {
                #expect($0.status == .tooManyRequests)
            }
        }
        let snapshot = try await d.memory!.snapshot(user: "alice", agent: "bulk")
        #expect(snapshot.passages == 2000)
    }

    @Test func mcpInsertsABatchAndSearchesWithFilters() async throws {
        let d = try await TestDaemon(memory: true)
        let sessions = MCPSessions(endpoint: MCPEndpoint(kernel: d.daemon.kernel))
        var mcp = MCPClient(sessions: sessions, principal: Principal(name: "alice", groups: ["users"]), scopes: [.mcp, .memory])
        try await mcp.initialize()
        let saved = try await mcp.call(
            "memory_insert",
            [
                "agent": "notes",
                "passages": [
                    ["text": "Ada's birthday is 3 March", "happened": "2020-03-03", "tags": ["family"]],
                    ["text": "Ada moved to Braga", "happened": "2024-09-01"],
                ],
            ])
        #expect(!saved.isError, "\(saved.text)")
        #expect(saved.text.contains("saved 2 passages"))
        let found = try await mcp.call("memory_search", ["query": "Ada", "after": "2024-01-01", "sources": ["user"]])
        #expect(found.text.contains("Ada moved to Braga") && !found.text.contains("birthday"), "\(found.text)")
        #expect(found.text.contains("2024-09-01T00:00:00Z"))
        let bad = try await mcp.call("memory_insert", ["agent": "notes", "passages": [["text": "ok"], ["text": ""]]])
        #expect(bad.isError && bad.text.contains("passages[1]"), "\(bad.text)")
        let deep = try await mcp.call("memory_search", ["query": "Ada", "offset": 999, "limit": 5])
        #expect(deep.isError && deep.text.contains("offset + limit"), "\(deep.text)")
        let none = try await mcp.call("memory_search", ["query": "Ada", "limit": 1e300])
        #expect(none.isError)
        // Nothing of the refused batch is there.
        #expect(try await d.memory!.snapshot(user: "alice", agent: "notes").passages == 2)
    }
}
