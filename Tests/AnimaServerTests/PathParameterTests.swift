import AnimaCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AnimaServer

@Suite("Path parameters are percent-decoded in one place")
struct PathParameterTests {
    @Test func anEncodedKeyNamesTheDecodedKey() async throws {
        let d = try await TestDaemon()
        try await d.test { client in
            try await client.execute(
                uri: "/anima/v1/memory/trip%20plan%2F2026", method: .put, headers: headers(d.admin),
                body: ByteBuffer(string: #"{"value":1}"#)
            ) {
                #expect($0.status == .ok)
                #expect(json($0)["key"] == "trip plan/2026")
            }
            try await client.execute(uri: "/anima/v1/memory", method: .get, headers: headers(d.admin)) {
                #expect(json($0)["keys"] == ["trip plan/2026"])
            }
            try await client.execute(uri: "/anima/v1/memory/trip%20plan%2f2026", method: .get, headers: headers(d.admin)) {
                #expect(json($0)["value"] == 1)
            }
            try await client.execute(uri: "/v1/models/scripted", method: .get, headers: headers(d.admin)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/models/%73cripted", method: .get, headers: headers(d.admin)) { #expect($0.status == .ok) }
        }
    }

    @Test(arguments: ["/anima/v1/memory/a%zz", "/anima/v1/memory/%ff", "/anima/v1/processes/1%", "/v1/models/%e2%82"])
    func anInvalidEncodingIsABadRequest(uri: String) async throws {
        let d = try await TestDaemon()
        try await d.test { client in
            try await client.execute(uri: uri, method: .get, headers: headers(d.admin)) { response in
                #expect(response.status == .badRequest, "\(uri)")
                #expect(json(response)["error"]?["message"]?.stringValue?.contains("percent-encoding") == true, "\(uri)")
            }
        }
    }
}
