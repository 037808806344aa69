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
        let path = try file(
            """
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
        #expect(!c.tune)
        #expect(try ServerConfiguration.load(file: try file("tune = true"), environment: [:]).tune)
        #expect(try !ServerConfiguration.load(file: try file("tune = true"), environment: ["ANIMA_TUNE": "0"]).tune)
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
        ("tune = \"sometimes\"", "expected true or false"),
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

    /// Every number from the file and the environment goes through `WireNumber`: the
    /// extremes are refused with a reason, never trapped on or silently read.
    @Test(arguments: [
        ("1e300", "is not a whole number"), ("-1e300", "is not a whole number"), ("9223372036854775808", "is out of range"),
        ("-9223372036854775809", "is out of range"), ("NaN", "is not a finite number"), ("inf", "is not a finite number"),
        ("-inf", "is not a finite number"), ("12abc", "is not a number"), ("ten", "is not a number"), ("1.5", "is not a whole number"),
        ("-1", "is out of range"),
    ])
    func extremeNumbersAreRefusedWithAReason(value: String, reason: String) throws {
        for key in [
            "port", "slots", "context", "quantum", "max_request_bytes", "requests_per_minute", "max_concurrent_requests",
            "request_header_timeout", "idle_timeout", "max_connections", "shutdown_grace", "approval_timeout", "max_models", "model_memory_mib",
            "page_in_history",
            "workflow_lease_seconds",
        ] {
            let path = try file("\(key) = \"\(value)\"")
            let error = #expect(throws: ConfigurationError.self) { try ServerConfiguration.load(file: path, environment: [:]) }
            #expect(error?.description.contains(reason) == true, "\(key): \(String(describing: error))")
            let variable = ServerConfiguration.keys.first { $0.file == key }!.environment
            let env = #expect(throws: ConfigurationError.self) {
                try ServerConfiguration.load(file: try file(""), environment: [variable: value])
            }
            #expect(env?.description.contains(reason) == true && env?.description.contains(variable) == true, "\(String(describing: env))")
        }
        // Unquoted in the file, TOML reads them first: too large an integer, a float, or not a value.
        for text in ["port = 9223372036854775808", "port = 1e300", "port = -1e300", "port = nan", "port = inf", "port = 12abc"] {
            #expect(throws: ConfigurationError.self, "\(text)") { try ServerConfiguration.load(file: try file(text), environment: [:]) }
        }
    }

    /// How many page-in events each agent keeps: from the file or the environment, 0 to 256.
    @Test func thePageInHistoryIsBounded() throws {
        #expect(ServerConfiguration().pageInHistory == 16)
        #expect(try ServerConfiguration.load(file: try file("page_in_history = 0"), environment: [:]).pageInHistory == 0)
        #expect(try ServerConfiguration.load(file: try file(""), environment: ["ANIMA_PAGE_IN_HISTORY": "256"]).pageInHistory == 256)
        let error = #expect(throws: ConfigurationError.self) {
            try ServerConfiguration.load(file: try file("page_in_history = 257"), environment: [:])
        }
        #expect(error?.description.contains("page_in_history") == true, "\(String(describing: error))")
    }

    /// The workflow lease: whole seconds within 1...3600 from the file or the environment, 10 by default.
    @Test func theWorkflowLeaseIsBounded() throws {
        #expect(ServerConfiguration().workflowLeaseSeconds == 10)
        #expect(try ServerConfiguration.load(file: try file("workflow_lease_seconds = 3"), environment: [:]).workflowLeaseSeconds == 3)
        #expect(
            try ServerConfiguration.load(file: try file(""), environment: ["ANIMA_WORKFLOW_LEASE_SECONDS": "3600"]).workflowLeaseSeconds
                == 3600)
        for bad in ["0", "3601", "0.5"] {
            let error = #expect(throws: ConfigurationError.self) {
                try ServerConfiguration.load(file: try file("workflow_lease_seconds = \"\(bad)\""), environment: [:])
            }
            #expect(error?.description.contains("workflow_lease_seconds") == true, "\(String(describing: error))")
        }
    }

    /// The groups whose runs a daemon takes from a shared queue: every group of its user
    /// store unless named; a name no group could have is refused, naming the key.
    @Test func theWorkflowGroupsAreGroupNames() throws {
        #expect(ServerConfiguration().workflowGroups == nil)
        #expect(try ServerConfiguration.load(file: try file("workflow_groups = \"users, gpu\""), environment: [:]).workflowGroups == ["users", "gpu"])
        #expect(try ServerConfiguration.load(file: try file(""), environment: ["ANIMA_WORKFLOW_GROUPS": "net"]).workflowGroups == ["net"])
        #expect(try ServerConfiguration.load(file: try file("workflow_groups = \"\""), environment: [:]).workflowGroups == [])
        for bad in ["Net", "net,a b", "-x", String(repeating: "g", count: 65), "net;rm"] {
            var config = ServerConfiguration()
            let error = #expect(throws: ConfigurationError.self, "\(bad)") { try config.set("workflow_groups", bad, source: "--workflow-groups") }
            #expect(error?.description.contains("workflow_groups") == true, "\(String(describing: error))")
        }
    }

    /// The daemon's approval timeout: seconds from the file, the environment or the flag.
    @Test func theApprovalTimeoutIsSetInSeconds() throws {
        #expect(ServerConfiguration().approvalTimeout == 300)
        #expect(try ServerConfiguration.load(file: try file("approval_timeout = 30"), environment: [:]).approvalTimeout == 30)
        #expect(
            try ServerConfiguration.load(file: try file(""), environment: ["ANIMA_APPROVAL_TIMEOUT": "86400"]).approvalTimeout == 86_400)
        for bad in ["0", "86401"] {
            #expect(throws: ConfigurationError.self) {
                try ServerConfiguration.load(file: try file("approval_timeout = \(bad)"), environment: [:])
            }
        }
    }

    /// The web console's passkey host and extra origins: a config key, a variable or a flag,
    /// each checked so a typo cannot leave every passkey unusable without saying why.
    @Test func theConsolesRelyingPartyAndOriginsAreSettingsAndChecked() throws {
        #expect(ServerConfiguration().webRelyingPartyID == "localhost" && ServerConfiguration().webOrigins.isEmpty)
        let c = try ServerConfiguration.load(
            file: try file("web_rp_id = \"Console.Example.org\"\nweb_origins = \"https://proxy.example.org, http://localhost:8080\""),
            environment: [:])
        #expect(c.webRelyingPartyID == "console.example.org")
        #expect(c.webOrigins == ["https://proxy.example.org", "http://localhost:8080"])
        let env = try ServerConfiguration.load(file: try file(""), environment: ["ANIMA_WEB_RP_ID": "anima.lan"])
        #expect(env.webRelyingPartyID == "anima.lan")
        for bad in ["https://example.org", "example.org:8420", "127.0.0.1", "exa mple.org", "-bad.org", "a/b", "", String(repeating: "a", count: 64) + ".org"] {
            var config = ServerConfiguration()
            #expect(throws: ConfigurationError.self, "\(bad)") { try config.set("web_rp_id", bad, source: "--web-rp-id") }
        }
        for bad in ["example.org", "ftp://example.org", "https://example.org/path", "https://example.org:0", "https://example.org:99999",
            "https://example.org:1e3", "http://"] {
            var config = ServerConfiguration()
            let error = #expect(throws: ConfigurationError.self, "\(bad)") { try config.set("web_origins", bad, source: "--web-origins") }
            #expect(error?.description.contains("web_origins") == true)
        }
    }
}
