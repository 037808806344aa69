import AnimaAutomation
import AnimaCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AnimaServer

@Suite("Daemon: macro task routes")
struct TaskRouteTests {
    static let start = #"{"goal": "write a note", "plan": {"nodes": [{"id": "note", "role": "writer", "goal": "write a short note"}]}}"#

    @Test func aTaskStartsRunsAndIsTheOwnersToSeeAndRate() async throws {
        let d = try await TestDaemon()
        let bob = try await d.token(scopes: [.agents], user: "bob")
        let chatOnly = try await d.token(scopes: [.chat])
        try await d.test { client in
            var task = ""
            try await client.execute(uri: "/anima/v1/tasks", method: .post, headers: headers(d.admin), body: ByteBuffer(string: Self.start))
            {
                #expect($0.status == .accepted)
                task = json($0)["task"]?.stringValue ?? ""
            }
            #expect(task.hasPrefix("t-"))
            var state = ""
            var shown = JSONValue.null
            for _ in 0..<300 where state != "passed" && state != "failed" {
                try await client.execute(uri: "/anima/v1/tasks/\(task)", method: .get, headers: headers(d.admin)) {
                    shown = json($0)
                    state = shown["state"]?.stringValue ?? ""
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(state == "passed", "\(shown)")
            #expect(shown["nodes"]?.arrayValue?.first?["output"]?.stringValue?.hasPrefix("You said:") == true)
            #expect(shown["graph"]?["nodes"]?.arrayValue?.count == 1)
            try await client.execute(uri: "/anima/v1/tasks/\(task)", method: .get, headers: headers(bob)) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/anima/v1/tasks", method: .get, headers: headers(bob)) {
                #expect(json($0).arrayValue?.isEmpty == true)
            }
            try await client.execute(uri: "/anima/v1/tasks", method: .get, headers: headers(chatOnly)) { #expect($0.status == .forbidden) }
            try await client.execute(
                uri: "/anima/v1/tasks/\(task)/rating", method: .post, headers: headers(bob),
                body: ByteBuffer(string: #"{"verdict": "down"}"#)
            ) { #expect($0.status == .notFound) }
            try await client.execute(
                uri: "/anima/v1/tasks/\(task)/rating", method: .post, headers: headers(d.admin),
                body: ByteBuffer(string: #"{"verdict": "up"}"#)
            ) { #expect($0.status == .ok) }
            try await client.execute(uri: "/anima/v1/tasks/\(task)", method: .get, headers: headers(d.admin)) {
                #expect(json($0)["rating"] == 1)
                #expect(json($0)["nodes"]?.arrayValue?.first?["rating"] == 1)
            }
        }
    }

    @Test func badRequestsSayWhatIsWrong() async throws {
        let d = try await TestDaemon()
        try await d.test { client in
            for body in [
                #"{}"#, #"{"goal": "   "}"#, #"{"goal": "x", "plan": {"nodes": [{"id": "a", "role": "wizard", "goal": "x"}]}}"#,
                #"{"goal": "x", "plan": {"nodes": [{"id": "a", "role": "writer", "goal": "x", "inputs": ["a"]}]}}"#,
            ] {
                try await client.execute(uri: "/anima/v1/tasks", method: .post, headers: headers(d.admin), body: ByteBuffer(string: body)) {
                    #expect($0.status == .badRequest, "\(body)")
                }
            }
            try await client.execute(
                uri: "/anima/v1/tasks/t-nothing/rating", method: .post, headers: headers(d.admin),
                body: ByteBuffer(string: #"{"verdict": "meh"}"#)
            ) { #expect($0.status == .badRequest) }
        }
    }
}
