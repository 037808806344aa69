import Foundation
import Testing

@testable import AnimaServer

@Suite("Daemon configuration")
struct ConfigurationTests {
    func file(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "anima-config-\(UUID().uuidString).toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func fileThenEnvironmentThenDefaults() throws {
        let path = try file("""
            port = 9000
            slots = 8
            policy = "priority"
            scripted = true
            host = "0.0.0.0"
            """)
        let c = try ServerConfiguration.load(file: path, environment: ["ANIMA_PORT": "9100", "ANIMA_QUANTUM": "7"])
        #expect(c.port == 9100)  // the environment wins over the file
        #expect(c.slots == 8 && c.policy == "priority" && c.scripted && c.host == "0.0.0.0")
        #expect(c.quantum == 7)
        #expect(c.requestsPerMinute == 600)  // default
    }

    @Test(arguments: [
        ("prot = 9000", "unknown setting \"prot\""),
        ("port = 70000", "expected an integer from 0 to 65535"),
        ("policy = \"lottery\"", "expected fifo, rr or priority"),
        ("port = [1, 2]", "expected a string, an integer or a boolean"),
        ("port = = 3", "is not valid TOML: line 1, column 8"),
        ("host = \"a\"\nport = 80 80", "line 2, column 11"),
        ("[server]\nport = 1", "Anima's config has no tables"),
        ("port = 1e300", "not a float"),
    ])
    func badFilesAreExplained(text: String, message: String) throws {
        let path = try file(text)
        let error = #expect(throws: ConfigurationError.self) { try ServerConfiguration.load(file: path, environment: [:]) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
        #expect(error?.description.contains(path) == true)
    }

    @Test func badEnvironmentAndTLSHalvesAreExplained() throws {
        let error = #expect(throws: ConfigurationError.self) {
            try ServerConfiguration.load(file: "/nonexistent/none.toml", environment: [:])
        }
        #expect(error?.description.contains("no such file") == true)
        let env = #expect(throws: ConfigurationError.self) {
            try ServerConfiguration.load(file: try file(""), environment: ["ANIMA_SLOTS": "many"])
        }
        #expect(env?.description.contains("ANIMA_SLOTS") == true)
        var c = ServerConfiguration()
        c.tlsCertificate = "/tmp/cert.pem"
        #expect(throws: ConfigurationError.self) { try c.check() }
    }
}
