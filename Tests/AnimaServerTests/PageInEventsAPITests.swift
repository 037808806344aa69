import AnimaCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AnimaServer

/// Page-in events over the native API (issue 18): an agent's show carries them, their own
/// route lists them, and a bad agent name is refused with the parameter's name. (What an
/// event holds is tested on the pager, in PagerTests.)
@Suite("Daemon: page-in events")
struct PageInEventsAPITests {
    @Test func pageInsAreListedAndShown() async throws {
        let d = try await TestDaemon(memory: true)
        try await d.test { client in
            try await client.execute(
                uri: "/anima/v1/agent-memory/notes/passages", method: .post, headers: headers(d.admin),
                body: ByteBuffer(string: #"{"text": "The spare key is under the blue pot."}"#)
            ) { #expect($0.status == .created) }
            try await client.execute(uri: "/anima/v1/agent-memory/notes/page-ins", method: .get, headers: headers(d.admin)) {
                #expect($0.status == .ok)
                #expect(json($0) == [])
            }
            try await client.execute(uri: "/anima/v1/agent-memory/notes", method: .get, headers: headers(d.admin)) {
                #expect(json($0)["page_ins"] == [])
            }
            try await client.execute(uri: "/anima/v1/agent-memory/..%2Fetc/page-ins", method: .get, headers: headers(d.admin)) {
                #expect($0.status == .badRequest)
            }
        }
    }
}
