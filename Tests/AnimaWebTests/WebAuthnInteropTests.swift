import AnimaCore
import AnimaWeb
import Foundation
import Testing

/// The console's WebAuthn checks against py_webauthn, an independent implementation: the
/// same payloads (good, bad signature, wrong origin or rp id, replayed challenge, sign
/// count rolled back, UV missing, wrong type) accepted and refused alike.
@Suite struct WebAuthnInteropTests {
    static let python = AnimaDirectories.cache() + "/web-venv/bin/python"
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Interop/webauthn_interop.py")
        .path

    @Test func swiftAndPyWebAuthnAgreeOnEveryPayload() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.python),
            "py_webauthn is missing: run scripts/setup.sh (it makes \(Self.python))")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = [Self.script]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "the payload generator failed: \(problem)")
        let document = try JSONValue(parsing: String(decoding: data, as: UTF8.self))
        let cases = try #require(document["cases"]?.arrayValue)
        let origins: Set<String> = [try #require(document["origin"]?.stringValue)]
        #expect(cases.count >= 40)
        var accepted = 0
        for item in cases {
            let name = item["name"]?.stringValue ?? "?"
            let credential = try #require(item["credential"])
            let response = try #require(credential["response"])
            func bytes(_ value: JSONValue?) -> [UInt8]? { value?.stringValue.flatMap(Base64URL.decode) }
            let challenge = try #require(bytes(item["challenge"]))
            let rp = RelyingParty(id: "localhost", requireUserVerification: item["requireUV"]?.boolValue ?? true)
            let rawID = try #require(bytes(credential["rawId"]))
            var swift: String
            do {
                if item["kind"]?.stringValue == "registration" {
                    _ = try await rp.verifyRegistration(
                        .init(
                            rawID: rawID, clientDataJSON: try #require(bytes(response["clientDataJSON"])),
                            attestationObject: try #require(bytes(response["attestationObject"]))), challenge: challenge, origins: origins)
                } else {
                    _ = try rp.verifyAssertion(
                        .init(
                            rawID: rawID, clientDataJSON: try #require(bytes(response["clientDataJSON"])),
                            authenticatorData: try #require(bytes(response["authenticatorData"])),
                            signature: try #require(bytes(response["signature"])), userHandle: nil),
                        challenge: challenge, origins: origins, credentialID: rawID,
                        publicKey: try COSEKey(encoded: try #require(bytes(item["publicKey"]))),
                        storedSignCount: UInt32(item["storedSignCount"]?.numberValue ?? 0), userHandle: nil)
                }
                swift = "accept"
            } catch {
                swift = "reject: \(error)"
            }
            let python = item["python"]?.stringValue ?? "?"
            #expect(swift.hasPrefix("accept") == python.hasPrefix("accept"), "\(name): Swift \(swift), py_webauthn \(python)")
            // Each case is built to be accepted exactly when its name says nothing wrong.
            let what = name.split(separator: " ", maxSplits: 1).last.map(String.init) ?? name
            let good = [
                "registration", "packed self attestation", "registration without UV when not required", "sign-in",
                "sign-in without a counter",
            ].contains(what)
            #expect(swift.hasPrefix("accept") == good, "\(name): Swift \(swift)")
            if swift.hasPrefix("accept") { accepted += 1 }
        }
        #expect(accepted == 10)
    }
}
