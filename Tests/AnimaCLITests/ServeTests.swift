import AnimaCore
import AnimaTesting
import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `anima serve` as users run it, driven by real clients: the official OpenAI Python
/// package and schemathesis, from the environment setup installs.
@Suite("anima serve", .serialized)
struct ServeTests {
    static var cache: String {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["ANIMA_CACHE"], !dir.isEmpty { return dir }
        return (env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.cache") + "/anima"
    }

    static var python: String { cache + "/server-venv/bin/python" }

    /// A daemon on a free port with its own data directory and a token with every scope.
    struct Daemon {
        let process: BackgroundCommand
        let url: String
        let token: String
        let dataDirectory: String
        /// The /proc-like directory, where the daemon leaves its discovery file.
        let runtime: [String: String]

        /// `dataDirectory`: one prepared before the daemon starts (default: a fresh one).
        init(_ extra: [String], environment: [String: String] = [:], dataDirectory: String? = nil) async throws {
            self.dataDirectory = dataDirectory ?? NSTemporaryDirectory() + "anima-serve-\(UUID().uuidString)"
            let created = try CLI.run(["token", "create", "--data-dir", self.dataDirectory, "--name", "test"])
            try #require(created.status == 0, "\(created.stderr)")
            token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            runtime = environment.merging(["XDG_RUNTIME_DIR": NSTemporaryDirectory() + "anima-rt-\(UUID().uuidString)"]) { $1 }
            // The scripted daemon is anima-bench's; anima serve serves real models only.
            process = try BackgroundCommand(
                ["serve", "--port", "0", "--data-dir", self.dataDirectory] + extra, environment: runtime,
                executable: extra.contains("--scripted") ? CLI.bench : CLI.binary)
            var found: String?
            for _ in 0..<600 where found == nil {
                let log = String(decoding: (try? Data(contentsOf: process.output)) ?? Data(), as: UTF8.self)
                if let range = log.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) { found = String(log[range]) }
                if !process.process.isRunning { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            url = try #require(found, "the daemon did not start")
        }
    }

    func python(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = arguments
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("py-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = process.standardOutput
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: try Data(contentsOf: output), as: UTF8.self))
    }

    @Test func theOfficialOpenAIClientWorksAgainstTheRealModel() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.python), "run `make setup` to install the client environment")
        let daemon = try await Daemon(["--slots", "2", "--context", "1024"])
        let result = try python([
            Self.client("openai_client.py"), daemon.url, daemon.token, "SmolLM2-135M-Instruct.Q4_1", "all-MiniLM-L6-v2.F16",
        ])
        daemon.process.process.terminate()
        let log = try await daemon.process.finish(within: 30)
        #expect(result.status == 0, "\(result.output)\n--- daemon log ---\n\(log.output)")
        #expect(result.output.contains("all ok"))
    }

    @Test func schemathesisFindsNoServerErrorsAndNoSchemaViolations() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.python), "run `make setup` to install the client environment")
        let daemon = try await Daemon(["--scripted", "--requests-per-minute", "100000", "--max-concurrent-requests", "1000"])
        let schemathesis = URL(fileURLWithPath: Self.python).deletingLastPathComponent().appendingPathComponent("schemathesis").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: schemathesis)
        process.arguments = [
            "run", "\(daemon.url)/openapi.json", "--header", "Authorization: Bearer \(daemon.token)",
            "--checks", "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
            "--max-examples", "25", "--exclude-path", "/anima/v1/agents/run", "--exclude-path-regex", "wait$|^/v1/audio/",
            "--request-timeout", "60", "--suppress-health-check", "too_slow", "--no-color",
        ]
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = process.standardOutput
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: try Data(contentsOf: output), as: UTF8.self)
        daemon.process.process.terminate()
        _ = try await daemon.process.finish(within: 30)
        #expect(process.terminationStatus == 0, "\(text)")
    }

    static func client(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Clients/\(name)")
            .path
    }

    @Test func theOfficialMCPClientUsesAnimaOverStdioAndHTTP() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.python), "run `make setup` to install the client environment")
        let data = NSTemporaryDirectory() + "anima-mcp-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: data) }
        let stdio = try python([
            Self.client("mcp_client.py"), "stdio", CLI.bench.path, "mcp", "--scripted", "--tools", "calculator", "--data-dir", data,
        ])
        #expect(stdio.status == 0, "\(stdio.output)")
        #expect(stdio.output.contains("all ok"))
        let daemon = try await Daemon(["--scripted", "--tools", "calculator"])
        let http = try python([Self.client("mcp_client.py"), "http", daemon.url + "/mcp", daemon.token, "calculator"])
        daemon.process.process.terminate()
        _ = try await daemon.process.finish(within: 30)
        #expect(http.status == 0, "\(http.output)")
        #expect(http.output.contains("all ok"))
    }

    @Test func theCLIUsesARunningDaemon() async throws {
        let daemon = try await Daemon(["--scripted"])
        // The scripted daemon echoes; the local model never would.
        let ask = try CLI.run(["ask", "hello daemon"], environment: daemon.runtime)
        #expect(ask.status == 0, "\(ask.stderr)")
        #expect(ask.stdout.contains("You said: hello daemon"))
        let run = try CLI.run(["run", "--json", "count the stars"], environment: daemon.runtime)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("You said: count the stars"))
        let local = try CLI.run(["ask", "--local", "--max-tokens", "8", "--temperature", "0", "hello daemon"], environment: daemon.runtime)
        #expect(local.status == 0 && !local.stdout.contains("You said"), "\(local.stdout)")
        daemon.process.process.terminate()
        _ = try await daemon.process.finish(within: 30)
        // Once the daemon is gone, commands run in-process again.
        let after = try CLI.run(["ask", "--max-tokens", "8", "--temperature", "0", "hello daemon"], environment: daemon.runtime)
        #expect(after.status == 0 && !after.stdout.contains("You said"), "\(after.stdout)")
    }

    /// `anima token revoke` and `anima token create` while the daemon runs take effect at
    /// its next request, and a graceful stop keeps both (it never writes the token file).
    @Test func tokenChangesReachARunningDaemonAndSurviveItsStop() async throws {
        let daemon = try await Daemon(["--scripted"])
        #expect(try await post(daemon, "/v1/models", "").status == 200)
        let id = String(daemon.token.split(separator: "_")[1])
        let revoked = try CLI.run(["token", "revoke", id, "--data-dir", daemon.dataDirectory])
        #expect(revoked.status == 0, "\(revoked.stderr)")
        let refused = try await post(daemon, "/v1/models", "")
        #expect(refused.status == 401 && refused.body["error"]?["code"] == "revoked_token", "\(refused.body)")
        let created = try CLI.run([
            "token", "create", "--data-dir", daemon.dataDirectory, "--name", "fresh", "--scope", "chat", "--expires", "1h",
        ])
        #expect(created.status == 0, "\(created.stderr)")
        let fresh = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        var request = URLRequest(url: URL(string: daemon.url + "/v1/models")!)
        request.setValue("Bearer \(fresh)", forHTTPHeaderField: "Authorization")
        let (_, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)

        // The discovery file names the daemon and holds no secret; the CLI mints its own
        // short-lived token with only the scope its command needs.
        let discovery = try String(contentsOfFile: try #require(daemon.runtime["XDG_RUNTIME_DIR"]) + "/anima/daemon.json", encoding: .utf8)
        #expect(!discovery.contains("anima_"), "\(discovery)")
        let ask = try CLI.run(["ask", "hello daemon"], environment: daemon.runtime)
        #expect(ask.status == 0 && ask.stdout.contains("You said: hello daemon"), "\(ask.stderr)")

        kill(daemon.process.process.processIdentifier, SIGTERM)
        let (status, log) = try await daemon.process.finish(within: 30)
        #expect(status == 0, "\(log)")
        let list = try CLI.run(["token", "list", "--data-dir", daemon.dataDirectory]).stdout.split(separator: "\n")
        #expect(list.contains { $0.hasPrefix(id) && $0.contains("revoked") }, "\(list)")
        #expect(list.contains { $0.contains("fresh") && $0.contains("active") }, "\(list)")
        let cli = try #require(list.first { $0.contains("cli-chat") }, "\(list)")
        #expect(cli.contains("active") && cli.contains("  chat  "), "\(cli)")
        #expect(!list.contains { $0.contains("local-cli") })
    }

    /// What users write to memory and look for in it does not reach the audit log in the
    /// clear, so it is neither readable to `logs` readers nor kept after `forget`; the
    /// log is 0600.
    @Test func memoryWritesAndSearchesLeaveNoPlaintextInTheAuditLog() async throws {
        let daemon = try await Daemon(["--scripted"])
        let passage = "the spare key is under the blue flowerpot"
        let stored = try await post(daemon, "/anima/v1/agent-memory/notes/passages", #"{"text":"\#(passage)"}"#)
        #expect(stored.status == 201, "\(stored.body)")
        let found = try await post(daemon, "/anima/v1/agent-memory/search?q=flowerpot%20whereabouts", "")
        #expect(found.status == 200, "\(found.body)")
        kill(daemon.process.process.processIdentifier, SIGTERM)
        _ = try await daemon.process.finish(within: 30)
        let path = daemon.dataDirectory + "/audit.log"
        let log = try String(contentsOfFile: path, encoding: .utf8)
        #expect(log.contains("memory.insert") && log.contains("memory.search"), "\(log)")
        #expect(!log.contains("flowerpot") && !log.contains("spare key") && !log.contains("whereabouts"), "\(log)")
        #expect(log.contains("hmac:"))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    /// Memory with a daemon running, end to end: `anima memory import` (a bad line named
    /// and nothing saved; then a whole file), search, show and `anima run --memory` go
    /// through the daemon, the store's one writer; a second writer is refused with the
    /// daemon's pid; SIGTERM closes the store (WAL checkpointed, lock released); and no
    /// file under the data directory holds any text written or searched, each file 0600
    /// and each folder 0700.
    @Test func memoryGoesThroughTheDaemonAndNothingIsLeftInTheClear() async throws {
        let daemon = try await Daemon(["--scripted"])
        let data = daemon.dataDirectory
        let env = daemon.runtime
        let passages = ["the spare key is under the blue flowerpot", "Ada plays the theremin on Tuesdays", "locker code 4471 walrus"]
        let queries = ["flowerpot whereabouts", "theremin schedule"]
        let task = "remember the boat is moored at pier nineteen"
        let files = NSTemporaryDirectory() + "anima-import-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: files) }

        let bad = [#"{"text": "\#(passages[0])"}"#, "", #"{"text": "x", "happened": 1e300}"#, "not json"].joined(separator: "\n")
        try bad.write(toFile: files + "/bad.jsonl", atomically: true, encoding: .utf8)
        let refused = try CLI.run(["memory", "import", files + "/bad.jsonl", "--agent", "notes", "--data-dir", data], environment: env)
        #expect(refused.status != 0, "\(refused.stderr)")
        #expect(refused.stderr.contains("line 3:") && refused.stderr.contains("line 4:"), "\(refused.stderr)")
        #expect(refused.stderr.contains("nothing was imported"), "\(refused.stderr)")

        let good = [
            #"{"text": "\#(passages[0])", "tags": ["home"], "happened": "2023-05-07"}"#, #"{"text": "\#(passages[1])"}"#,
            #"{"text": "\#(passages[2])", "source": "user"}"#,
        ].joined(separator: "\n")
        try good.write(toFile: files + "/good.jsonl", atomically: true, encoding: .utf8)
        let imported = try CLI.run(["memory", "import", files + "/good.jsonl", "--agent", "notes", "--data-dir", data], environment: env)
        #expect(imported.status == 0 && imported.stderr.contains("imported 3 passages into notes"), "\(imported.stderr)")

        let found = try CLI.run(["memory", "search", "--data-dir", data, "--json", queries[0]], environment: env)
        #expect(found.status == 0 && found.stdout.contains("blue flowerpot"), "\(found.stdout)\(found.stderr)")
        #expect(found.stdout.contains(#""happened":"2023-05-07T00:00:00Z""#) && found.stdout.contains(#""source":"import""#))
        let dated = try CLI.run(["memory", "search", "--data-dir", data, "--before", "2024-01-01", queries[1]], environment: env)
        #expect(dated.status == 0 && !dated.stdout.contains("theremin"), "\(dated.stdout)")
        let ran = try CLI.run(["run", "--memory", "notes", "--data-dir", data, "--max-steps", "1", task], environment: env)
        #expect(ran.status == 0, "\(ran.stderr)")
        let shown = try CLI.run(["memory", "show", "--data-dir", data, "notes"], environment: env)
        #expect(shown.status == 0 && shown.stdout.contains("3 archival passages"), "\(shown.stdout)\(shown.stderr)")
        let forgot = try CLI.run(["memory", "forget", "--data-dir", data, "notes", "--passage", "3"], environment: env)
        #expect(forgot.status == 0 && forgot.stdout.contains("forgot 1 record(s) of notes"), "\(forgot.stdout)\(forgot.stderr)")
        let listed = try CLI.run(["memory", "show", "--data-dir", data], environment: env)
        #expect(listed.stdout.contains("notes\t") && listed.stdout.contains("2 passages"), "\(listed.stdout)\(listed.stderr)")

        // Without the daemon's discovery file, the CLI would open the store itself: refused.
        let second = try CLI.run(["memory", "search", "--data-dir", data, "--words-only", queries[1]])
        #expect(second.status != 0, "\(second.stdout)")
        #expect(second.stderr.contains("open in another process (pid \(daemon.process.process.processIdentifier))"), "\(second.stderr)")

        kill(daemon.process.process.processIdentifier, SIGTERM)
        let stopped = try await daemon.process.finish(within: 30)
        #expect(stopped.status == 0, "\(stopped.output)")
        let wal = (try? FileManager.default.attributesOfItem(atPath: data + "/memory/memory.sqlite-wal")[.size] as? Int) ?? 0
        #expect(wal == 0, "the write-ahead log was not checkpointed on SIGTERM")
        let after = try CLI.run(["memory", "search", "--data-dir", data, "--words-only", "--json", queries[1]])
        #expect(after.status == 0 && after.stdout.contains("theremin"), "\(after.stderr)")
        // Without a daemon, import runs in this process, through the kernel (audited).
        try #"{"text": "\#(passages[2]) again", "happened": "2022-02-02T12:00:00+01:00"}"#.write(
            toFile: files + "/more.jsonl", atomically: true, encoding: .utf8)
        let local = try CLI.run(["memory", "import", files + "/more.jsonl", "--agent", "notes", "--data-dir", data])
        #expect(local.status == 0 && local.stderr.contains("imported 1 passage into notes"), "\(local.stderr)")
        let old = try CLI.run(["memory", "search", "--data-dir", data, "--words-only", "--json", "--before", "2023-01-01", "walrus"])
        #expect(old.stdout.contains(#""happened":"2022-02-02T11:00:00Z""#) && old.stdout.contains(#""rank":1"#), "\(old.stdout)")

        var clear: [String] = []
        var loose: [String] = []
        let root = URL(fileURLWithPath: data)
        let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isDirectoryKey])
        var paths = [root]
        while let url = walker?.nextObject() as? URL { paths.append(url) }
        for url in paths {
            let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
            let isDirectory = attributes[.type] as? FileAttributeType == .typeDirectory
            let mode = (attributes[.posixPermissions] as? Int ?? 0) & 0o777
            if mode != (isDirectory ? 0o700 : 0o600) { loose.append("\(url.path) \(String(mode, radix: 8))") }
            guard !isDirectory, let bytes = FileManager.default.contents(atPath: url.path) else { continue }
            for text in passages + queries + [task] + ["flowerpot", "theremin", "walrus", "pier nineteen"]
            where bytes.range(of: Data(text.utf8)) != nil {
                clear.append("\(url.lastPathComponent): \(text)")
            }
        }
        #expect(clear.isEmpty, "plaintext under the data directory: \(clear)")
        #expect(loose.isEmpty, "files not 0600 or folders not 0700: \(loose)")
    }

    /// A syntax error in the config file, named or found at the default place, stops
    /// `anima serve` with the line and column (exit 1, no crash); so does a TLS
    /// certificate that is not one, named as such.
    @Test func aBadConfigFileOrTLSCertificateIsAClearErrorNotACrash() throws {
        let config = NSTemporaryDirectory() + "anima-cfg-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: config) }
        try FileManager.default.createDirectory(atPath: config + "/anima", withIntermediateDirectories: true)
        try "port = 8420\nhost = \"127.0.0.1\nslots = 2\n".write(toFile: config + "/anima/config.toml", atomically: true, encoding: .utf8)
        let data = NSTemporaryDirectory() + "anima-cfg-data-\(UUID().uuidString)"
        let named = try CLI.run(
            ["serve", "--scripted", "--data-dir", data, "--config", config + "/anima/config.toml"], executable: CLI.bench)
        #expect(named.status == 1, "\(named.stderr)")
        #expect(named.stderr.contains("line 2, column 8") && named.stderr.contains("not closed"), "\(named.stderr)")
        let found = try CLI.run(
            ["serve", "--scripted", "--data-dir", data], environment: ["XDG_CONFIG_HOME": config], executable: CLI.bench)
        #expect(found.status == 1 && found.stderr.contains("config.toml is not valid TOML: line 2"), "\(found.stderr)")

        let junk = config + "/junk.pem"
        try "not a certificate\n".write(toFile: junk, atomically: true, encoding: .utf8)
        let tls = try CLI.run(
            ["serve", "--scripted", "--data-dir", data, "--port", "0", "--tls-certificate", junk, "--tls-key", junk],
            environment: ["XDG_CONFIG_HOME": config + "/none"], executable: CLI.bench)
        #expect(tls.status == 1, "\(tls.stderr)")
        #expect(tls.stderr.contains("TLS certificate") && !tls.stderr.contains("TOML"), "\(tls.stderr)")
        let missing = try CLI.run(["serve", "--scripted", "--data-dir", data, "--config", config + "/absent.toml"], executable: CLI.bench)
        #expect(missing.status == 1 && !missing.stderr.contains("NSCocoaErrorDomain"), "\(missing.stderr)")
    }

    @Test func sigtermDuringAStreamEndsItCleanlyAndExitsZero() async throws {
        let daemon = try await Daemon(["--scripted", "--scripted-delay-ms", "20"])
        let words = Array(repeating: "word", count: 400).joined(separator: " ")
        let body = #"{"model":"scripted","stream":true,"messages":[{"role":"user","content":"\#(words)"}]}"#
        var request = URLRequest(url: URL(string: daemon.url + "/v1/chat/completions")!)
        request.httpMethod = "POST"
        request.setValue("Bearer \(daemon.token)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.utf8)
        let streamed = Task { try await URLSession.shared.data(for: request) }
        try await Task.sleep(for: .seconds(2))  // the stream is under way
        kill(daemon.process.process.processIdentifier, SIGTERM)
        let (data, response) = try await streamed.value
        let text = String(decoding: data, as: UTF8.self)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(text.hasSuffix("data: [DONE]\n\n"), "\(text.suffix(300))")
        #expect(text.contains("shutting down"))
        let (status, log) = try await daemon.process.finish(within: 30)
        #expect(status == 0, "\(log)")
        // The data directory is intact: the token file still parses and lists the token.
        let list = try CLI.run(["token", "list", "--data-dir", daemon.dataDirectory])
        #expect(list.status == 0 && list.stdout.contains("test"), "\(list.stderr)")
    }

    func post(_ daemon: Daemon, _ path: String, _ body: String, headers: [String: String] = [:]) async throws -> (
        status: Int, body: JSONValue
    ) {
        var request = URLRequest(url: URL(string: daemon.url + path)!)
        request.httpMethod = body.isEmpty ? "GET" : "POST"
        request.setValue("Bearer \(daemon.token)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if !body.isEmpty { request.httpBody = Data(body.utf8) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, (try? JSONValue(parsing: String(decoding: data, as: UTF8.self))) ?? .null)
    }

    /// With processors.json in cloud mode, the daemon routes public chat completions to the
    /// provider, keeps private ones (header or body) on the local model without the provider
    /// receiving anything, refuses a private request pinned to the remote model, and
    /// audits every decision.
    @Test func theDaemonRoutesByTheConfigurationAndKeepsPrivateRequestsLocal() async throws {
        let config = try SetupTests.folder()
        defer { try? FileManager.default.removeItem(at: config) }
        let server = try await ReplayServer.start([SetupTests.cloudAnswer])
        try await SetupTests.cloud(server, in: config)
        let daemon = try await Daemon(["--scripted"], environment: ["ANIMA_CONFIG": config.path])

        let models = try await post(daemon, "/v1/models", "")
        let ids = models.body["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
        #expect(ids.contains("replay/m") && ids.contains("local/scripted"), "\(models.body)")

        let question = #"{"model":"anima","messages":[{"role":"user","content":"What is the capital of France?"}]}"#
        let cloud = try await post(daemon, "/v1/chat/completions", question)
        #expect(cloud.status == 200, "\(cloud.body)")
        #expect(cloud.body["choices"]?.arrayValue?.first?["message"]?["content"] == "Paris, from the cloud.")
        #expect(server.received.count == 1)

        let byHeader = try await post(daemon, "/v1/chat/completions", question, headers: ["X-Anima-Privacy": "private"])
        #expect(byHeader.status == 200, "\(byHeader.body)")
        #expect(byHeader.body["choices"]?.arrayValue?.first?["message"]?["content"] == "You said: What is the capital of France?")
        let secret = #"{"model":"anima","privacy":{"private":true},"messages":[{"role":"user","content":"My diagnosis is X."}]}"#
        let byBody = try await post(daemon, "/v1/chat/completions", secret)
        #expect(byBody.body["choices"]?.arrayValue?.first?["message"]?["content"] == "You said: My diagnosis is X.")
        let pinned = #"{"model":"replay/m","privacy":{"private":true},"messages":[{"role":"user","content":"My diagnosis is X."}]}"#
        let refused = try await post(daemon, "/v1/chat/completions", pinned)
        #expect(refused.status == 403 && refused.body["error"]?["code"] == "private_data_stays_local", "\(refused.body)")
        #expect(server.received.count == 1, "a private request reached the provider")
        let bad = try await post(daemon, "/v1/chat/completions", question, headers: ["X-Anima-Privacy": "secret"])
        #expect(bad.status == 400)

        daemon.process.process.terminate()
        _ = try await daemon.process.finish(within: 30)
        await server.stop()
        let audit = try CLI.run(["audit", "show", "--data-dir", daemon.dataDirectory, "--limit", "200"])
        let routes = audit.stdout.split(separator: "\n").filter { $0.contains("  route") }
        #expect(routes.filter { $0.contains("served by replay/m") }.count == 1, "\(audit.stdout)")
        #expect(routes.filter { $0.contains("private → local/scripted") }.count == 2, "\(audit.stdout)")
        #expect(routes.contains { $0.contains("denied") && $0.contains("replay/m") }, "\(audit.stdout)")
        #expect(!audit.stdout.contains("diagnosis"))
        #expect(try CLI.run(["audit", "verify", "--data-dir", daemon.dataDirectory]).status == 0)
    }
}
