import AnimaCore
import AnimaTesting
import Foundation
import Testing

/// `anima setup` driven by flags, `anima models` listing what it configured, and
/// `anima ask` routed by the configuration, all with a private configuration folder.
@Suite("anima setup, models and routed ask")
struct SetupTests {
    static let key = "sk-proj-CL1T3stK3yN0tR3al7xQ2wE9rY"

    /// Runs the CLI on a thread of its own, so that waiting for it does not hold one of
    /// the few threads that the suite's async tests share.
    static func run(_ arguments: [String], environment: [String: String]) async throws -> CLI.Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try CLI.run(arguments, environment: environment) }) }.start()
        }
    }

    static func folder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anima-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func setupStoresTheKeySealedAndModelsListsRemoteModels() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = ["ANIMA_CONFIG": dir.path, "OPENAI_API_KEY": ""]
        let setup = try CLI.run(
            ["setup", "--mode", "hybrid", "--provider", "openai", "--model", "gpt-4o-mini", "--key-stdin"], stdin: Self.key + "\n",
            environment: env)
        #expect(setup.status == 0, "\(setup.stderr)")
        #expect(setup.stdout.contains("mode: hybrid"))
        #expect(setup.stdout.contains("key: stored, sealed"))
        let ollama = try CLI.run(
            ["setup", "--provider", "ollama", "--model", "llama3.2", "--context", "8192", "--budget", "2.5", "--protect", "medical"],
            environment: env)
        #expect(ollama.status == 0, "\(ollama.stderr)")

        // The key is in no file in the clear, and no output repeats it.
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            let text = String(decoding: try Data(contentsOf: dir.appendingPathComponent(name)), as: UTF8.self)
            #expect(!text.contains(Self.key) && !text.contains(String(Self.key.prefix(12))), "\(name) holds the key")
        }
        for output in [setup.stdout, setup.stderr, ollama.stdout, ollama.stderr] { #expect(!output.contains(String(Self.key.prefix(12)))) }
        let configuration = try JSONValue(
            parsing: String(decoding: try Data(contentsOf: dir.appendingPathComponent("processors.json")), as: UTF8.self))
        #expect(configuration["mode"] == "hybrid")
        #expect(configuration["budget"] == 2.5)
        #expect(configuration["protectedGroups"] == ["medical"])

        let models = try CLI.run(["models", "--json"], environment: env)
        let rows = try JSONValue(parsing: models.stdout).arrayValue ?? []
        let openai = try #require(rows.first { $0["name"] == "openai/gpt-4o-mini" })
        #expect(openai["context_length"] == 128_000)
        #expect(openai["location"] == "remote")
        #expect(openai["price_per_million"]?["input"] == 0.15)
        let local = try #require(rows.first { $0["name"] == "ollama/llama3.2" })
        #expect(local["context_length"] == 8192 && local["location"] == "local" && local["price_per_million"]?["input"] == 0)
        let text = try CLI.run(["models"], environment: env)
        #expect(text.stdout.contains("openai/gpt-4o-mini") && text.stdout.contains("128000 tokens") && text.stdout.contains("$0.15 in"))
    }

    @Test func setupRefusesBadInput() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = ["ANIMA_CONFIG": dir.path]
        let plain = try CLI.run(["setup", "--provider", "openai", "--url", "http://api.example.com/v1"], environment: env)
        #expect(plain.status != 0 && plain.stderr.contains("unencrypted"))
        let orphan = try CLI.run(["setup", "--model", "gpt-4o"], environment: env)
        #expect(orphan.status != 0 && orphan.stderr.contains("need --provider"))
        let mode = try CLI.run(["setup", "--mode", "sometimes"], environment: env)
        #expect(mode.status != 0)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("processors.json").path))
    }

    /// In cloud mode a public question goes to the configured provider (a replay server,
    /// declared remote), and a private one is answered by the local model instead.
    @Test func askRoutesByConfigurationAndPrivacy() async throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try await ReplayServer.start([Self.cloudAnswer])
        let env = ["ANIMA_CONFIG": dir.path]
        let setup = try await Self.run(
            [
                "setup", "--mode", "cloud", "--provider", "openai-compatible", "--id", "replay", "--url", server.baseURL + "/v1",
                "--location", "remote",
                "--model", "m",
            ],
            environment: env)
        #expect(setup.status == 0, "\(setup.stderr)")

        let data = dir.appendingPathComponent("data").path
        let cloud = try await Self.run(
            ["ask", "--local", "--json", "--data-dir", data, "--temperature", "0", "--max-tokens", "8", "What is the capital of France?"],
            environment: env)
        #expect(cloud.status == 0, "\(cloud.stderr)")
        let routed = try JSONValue(parsing: cloud.stdout)
        #expect(routed["model"] == "replay/m")
        #expect(routed["text"] == "Paris, from the cloud.")
        #expect(server.received.count == 1)

        let secret = try await Self.run(
            [
                "ask", "--local", "--private", "--json", "--data-dir", data, "--temperature", "0", "--max-tokens", "8",
                "My diagnosis is X. What is it?",
            ],
            environment: env)
        #expect(secret.status == 0, "\(secret.stderr)")
        let local = try JSONValue(parsing: secret.stdout)
        #expect(local["model"]?.stringValue?.hasPrefix("local/") == true)
        #expect(server.received.count == 1, "the private question reached the provider")
        await server.stop()

        // Both decisions are in the audit log, without the question's text.
        let audit = try await Self.run(["audit", "show", "--data-dir", data, "--limit", "100"], environment: env)
        let routes = audit.stdout.split(separator: "\n").filter { $0.contains("  route") }
        #expect(
            routes.contains { $0.contains("served by replay/m") } && routes.contains { $0.contains("private → local/") }, "\(audit.stdout)")
        #expect(!audit.stdout.contains("diagnosis"))
        #expect(try await Self.run(["audit", "verify", "--data-dir", data], environment: env).status == 0)
    }

    /// A streamed answer from the replayed cloud provider.
    static let cloudAnswer: ReplayExchange = try! .openAIChatStream(["Paris,", " from the cloud."], promptTokens: 12, completionTokens: 5)

    /// Configures cloud mode with one remote provider: the replay server.
    static func cloud(_ server: ReplayServer, in dir: URL) async throws {
        let setup = try await run(
            [
                "setup", "--mode", "cloud", "--provider", "openai-compatible", "--id", "replay", "--url", server.baseURL + "/v1",
                "--location", "remote",
                "--model", "m",
            ],
            environment: ["ANIMA_CONFIG": dir.path])
        #expect(setup.status == 0, "\(setup.stderr)")
    }

    /// `anima run` generates through the router: in cloud mode a public agent is answered
    /// by the provider, and with --private by the local model, the provider receiving
    /// nothing; both decisions are in the audit log.
    @Test func runRoutesAgentsAndPrivateKeepsThemLocal() async throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try await ReplayServer.start([Self.cloudAnswer])
        try await Self.cloud(server, in: dir)
        let env = ["ANIMA_CONFIG": dir.path, "XDG_RUNTIME_DIR": dir.appendingPathComponent("run").path]
        let data = dir.appendingPathComponent("data").path
        let options = ["run", "--local", "--json", "--data-dir", data, "--max-steps", "1", "--tokens-per-step", "8"]

        let cloud = try await Self.run(options + ["What is the capital of France?"], environment: env)
        #expect(cloud.status == 0, "\(cloud.stderr)")
        #expect(try JSONValue(parsing: cloud.stdout)["answer"] == "Paris, from the cloud.")
        #expect(server.received.count == 1)

        let secret = try await Self.run(options + ["--private", "My diagnosis is X. What is it?"], environment: env)
        #expect(secret.status == 0, "\(secret.stderr)")
        #expect(try JSONValue(parsing: secret.stdout)["answer"] != "Paris, from the cloud.")
        #expect(server.received.count == 1, "the private agent reached the provider")
        await server.stop()

        let audit = try await Self.run(["audit", "show", "--data-dir", data, "--limit", "100"], environment: env)
        #expect(audit.status == 0, "\(audit.stderr)")
        let routes = audit.stdout.split(separator: "\n").filter { $0.contains("  route") }
        #expect(routes.contains { $0.contains("→ replay/m") } && routes.contains { $0.contains("served by replay/m") }, "\(audit.stdout)")
        #expect(
            routes.contains { $0.contains("private → local/") } && routes.contains { $0.contains("served by local/") }, "\(audit.stdout)")
        #expect(!audit.stdout.contains("diagnosis"))
        let verify = try await Self.run(["audit", "verify", "--data-dir", data], environment: env)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    /// `anima chat --private` keeps every turn on the local model under cloud mode.
    @Test func chatPrivateStaysLocalInCloudMode() async throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try await ReplayServer.start([Self.cloudAnswer])
        try await Self.cloud(server, in: dir)
        let env = ["ANIMA_CONFIG": dir.path]
        let chat = try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(
                    with: Result {
                        try CLI.run(
                            [
                                "chat", "--private", "--data-dir", dir.appendingPathComponent("data").path, "--temperature", "0",
                                "--max-tokens", "8",
                            ], stdin: "My diagnosis is X.\nAnd my address?\n/exit\n",
                            environment: env)
                    })
            }.start()
        }
        #expect(chat.status == 0, "\(chat.stderr)")
        #expect(chat.stderr.components(separatedBy: "(local/").count == 3, "\(chat.stderr)")
        #expect(!chat.stdout.contains("from the cloud"))
        #expect(server.received.isEmpty, "a private turn reached the provider")
        await server.stop()
    }
}
