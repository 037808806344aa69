import AnimaAutomation
import AnimaCommandSupport
import Foundation
import Testing

/// A signing key, a registry and package folders for the store's CLI tests.
struct StoreCLIFixture {
    let dir: URL
    var key: String { dir.path + "/acme.pem" }
    var registry: String { dir.path + "/registry" }

    init(_ name: String) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("anima-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let made = try CLI.run(["store", "keygen", "--out", key])
        try #require(made.status == 0, "\(made.stderr)")
    }

    /// Writes, signs and publishes package `name` `version` of `kind` holding `files`;
    /// `extra` is more of the manifest (JSON members, without braces).
    func publish(
        _ name: String, _ version: String = "1.0.0", kind: String, files: [(String, Data, String?)], extra: String = ""
    ) throws {
        let folder = dir.appendingPathComponent("src/\(name)-\(version)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (file, contents, _) in files { try contents.write(to: folder.appendingPathComponent(file)) }
        let listed = files.map { f, _, role in role.map { #"{"path": "\#(f)", "role": "\#($0)"}"# } ?? #"{"path": "\#(f)"}"# }
        let manifest = """
            {"schemaVersion": 1, "name": "\(name)", "version": "\(version)", "publisher": "acme", "kind": "\(kind)", "license": "MIT",
             "description": "\(kind) \(name)", "files": [\(listed.joined(separator: ", "))]\(extra.isEmpty ? "" : ", " + extra)}
            """
        try Data(manifest.utf8).write(to: folder.appendingPathComponent("anima-package.json"))
        let published = try CLI.run(["store", "publish", folder.path, "--sign", "--key", key, "--to", registry])
        try #require(published.status == 0, "\(published.stderr)")
    }

    /// `anima store ARGS` on the store of data directory `data`, from the registry.
    func store(_ arguments: [String], data: String, stdin: String = "") throws -> CLI.Result {
        try CLI.run(["store"] + arguments + ["--store-dir", data + "/store"], stdin: stdin)
    }

    /// Trusts acme in the store of `data`.
    func trust(_ data: String) throws {
        let trusted = try store(["trust", "add", "acme", dir.path + "/acme.pub.pem"], data: data)
        try #require(trusted.status == 0, "\(trusted.stderr)")
    }

    func install(_ name: String, grant: String, data: String) throws -> CLI.Result {
        try store(["install", name, "--grant", grant, "--registry", registry], data: data)
    }

    /// The mail MCP server as a tool package's file, run by the tools venv's Python.
    static func mailTool(requests: String) throws -> (files: [(String, Data, String?)], extra: String) {
        let server = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Servers/mail_server.py")
        return (
            [("mail_server.py", try Data(contentsOf: server), nil)],
            #""tool": {"protocol": "mcp", "entry": "mail_server.py", "interpreter": "\#(MCPToolsCLITests.toolsPython)", "startupTimeout": 30}, "requests": \#(requests)"#
        )
    }
}

/// Installed packages where they are used: tool packages in the daemon and in `anima mcp`
/// (with the official MCP client), workflow packages as workflows, skill packages in the
/// skill library of `anima do`, and the dependencies a new release brings on update.
@Suite("anima store: installed packages in use", .serialized)
struct StoreLoadingCLITests {
    @Test(.timeLimit(.minutes(5))) func toolPackagesServeThroughTheDaemonAndAnimaMCPUnderTheirGrants() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServeTests.python), "run `make setup` (server venv)")
        try #require(FileManager.default.isExecutableFile(atPath: MCPToolsCLITests.toolsPython), "run `make setup` (tools venv)")
        let f = try StoreCLIFixture("store-tools")
        defer { try? FileManager.default.removeItem(at: f.dir) }
        let networked = try StoreCLIFixture.mailTool(requests: #"{"effects": ["network"]}"#)
        try f.publish("mail-tools", kind: "tool", files: networked.files, extra: networked.extra)
        let quiet = try StoreCLIFixture.mailTool(requests: "{}")
        try f.publish("quiet-mail", kind: "tool", files: quiet.files, extra: quiet.extra)
        let daemonData = f.dir.path + "/daemon-data"
        let mcpData = f.dir.path + "/mcp-data"
        for data in [daemonData, mcpData] {
            try f.trust(data)
            for (name, grant) in [("mail-tools", "network"), ("quiet-mail", "none")] {
                let installed = try f.install(name, grant: grant, data: data)
                try #require(installed.status == 0, "\(installed.stderr)")
            }
        }

        // `anima mcp` (a real model loads; the tools are called directly) as the current user, without net.
        let model = ServeTests.cache + "/models/" + AnimaPaths.defaultModelName
        let stdio = try ServeTests().python([
            ServeTests.client("mcp_package_tools_client.py"), "stdio", CLI.binary.path, "mcp", "--tools", "mail-tools,quiet-mail",
            "--data-dir", mcpData, "--model", model,
        ])
        #expect(stdio.status == 0 && stdio.output.contains("all ok"), "\(stdio.output)")

        // The daemon: a token without net and one with it.
        let daemon = try await ServeTests.Daemon(["--scripted"], dataDirectory: daemonData)
        let made = try CLI.run(["token", "create", "--data-dir", daemonData, "--name", "net", "--group", "users", "--group", "net"])
        try #require(made.status == 0, "\(made.stderr)")
        let http = try ServeTests().python([
            ServeTests.client("mcp_package_tools_client.py"), "http", daemon.url + "/mcp", daemon.token,
            made.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
        ])
        daemon.process.process.terminate()
        _ = try await daemon.process.finish(within: 30)
        #expect(http.status == 0 && http.output.contains("all ok"), "\(http.output)")

        // A tampered package is left out of the daemon, with the reason, before its server starts.
        try Data("print('pwned')".utf8).write(to: URL(fileURLWithPath: daemonData + "/store/packages/quiet-mail/mail_server.py"))
        let again = try await ServeTests.Daemon(["--scripted"], dataDirectory: daemonData)
        let listed = try ServeTests().python([
            ServeTests.client("mcp_package_tools_client.py"), "http", again.url + "/mcp", again.token, again.token,
        ])
        again.process.process.terminate()
        let log = String(decoding: (try? Data(contentsOf: again.process.output)) ?? Data(), as: UTF8.self)
        _ = try await again.process.finish(within: 30)
        #expect(listed.status != 0 && listed.output.contains("FAIL the packages' tools are offered"), "\(listed.output)")
        #expect(log.contains("quiet-mail") && log.contains("mail_server.py differs from its signed digest"), "\(log)")
    }

    static let digest = #"{"name": "digest", "steps": [{"id": "w", "type": "wait", "seconds": 0}], "output": "digest done"}"#
    static let weekly = #"{"name": "weekly", "steps": [{"id": "w", "type": "wait", "seconds": 0}], "output": "weekly done"}"#

    @Test func aWorkflowPackageRegistersItsWorkflowsAtInstallAndTakesThemAwayAtRemoval() throws {
        let f = try StoreCLIFixture("store-flows")
        defer { try? FileManager.default.removeItem(at: f.dir) }
        let data = f.dir.path + "/data"
        try f.trust(data)
        try f.publish("digest-flow", kind: "workflow", files: [("digest.json", Data(Self.digest.utf8), "workflow")])
        let installed = try f.install("digest-flow", grant: "none", data: data)
        #expect(installed.status == 0 && installed.stdout.contains("added workflow digest (from package digest-flow)"), "\(installed)")
        let listed = try CLI.run(["workflow", "list", "--data-dir", data])
        #expect(listed.stdout.contains("digest\tv") && listed.stdout.contains("(package digest-flow)"), "\(listed.stdout)\(listed.stderr)")
        let ran = try CLI.run(["workflow", "run", "digest", "--data-dir", data])
        #expect(ran.status == 0 && ran.stdout.contains("digest done"), "\(ran.stdout)\(ran.stderr)")

        // The next release carries another workflow instead: the update swaps them.
        try f.publish("digest-flow", "1.1.0", kind: "workflow", files: [("weekly.json", Data(Self.weekly.utf8), "workflow")])
        let updated = try f.store(["update", "--registry", f.registry], data: data)
        #expect(updated.status == 0 && updated.stdout.contains("added workflow weekly"), "\(updated.stdout)\(updated.stderr)")
        let json = try CLI.run(["workflow", "list", "--json", "--data-dir", data])
        #expect(json.stdout.contains(#""name":"weekly""#) && json.stdout.contains(#""package":"digest-flow""#), "\(json.stdout)")
        #expect(!json.stdout.contains(#""name":"digest""#), "\(json.stdout)")

        let removed = try f.store(["remove", "digest-flow"], data: data)
        #expect(removed.status == 0 && removed.stdout.contains("removed workflow weekly"), "\(removed.stdout)\(removed.stderr)")
        let after = try CLI.run(["workflow", "list", "--data-dir", data])
        #expect(!after.stdout.contains("weekly"), "\(after.stdout)")
        #expect(try CLI.run(["workflow", "run", "weekly", "--data-dir", data]).status != 0)
    }

    @Test func aWorkflowPackageNeverReplacesAWorkflowAddedByHandNorInstallsHalfway() throws {
        let f = try StoreCLIFixture("store-flow-clash")
        defer { try? FileManager.default.removeItem(at: f.dir) }
        let data = f.dir.path + "/data"
        try f.trust(data)
        let mine = f.dir.path + "/digest.json"
        try #"{"name": "digest", "steps": [{"id": "w", "type": "wait", "seconds": 0}], "output": "mine"}"#.write(
            toFile: mine, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        #expect(try CLI.run(["workflow", "add", mine, "--data-dir", data]).status == 0)
        try f.publish("digest-flow", kind: "workflow", files: [("digest.json", Data(Self.digest.utf8), "workflow")])
        try f.publish("broken-flow", kind: "workflow", files: [("broken.json", Data(#"{"name": "broken", "steps": 7}"#.utf8), "workflow")])
        for (name, message) in [
            ("digest-flow", "carries workflow digest, a name already taken (added by `anima workflow add`)"),
            ("broken-flow", "broken.json of package broken-flow is not a valid workflow"),
        ] {
            let refused = try f.install(name, grant: "none", data: data)
            #expect(
                refused.status != 0 && refused.stderr.contains("\(name) was not installed") && refused.stderr.contains(message),
                "\(refused)")
            #expect(!(try f.store(["list"], data: data).stdout.contains(name)))
        }
        let ran = try CLI.run(["workflow", "run", "digest", "--data-dir", data])
        #expect(ran.stdout.contains("mine"), "the hand-added workflow is untouched: \(ran.stdout)\(ran.stderr)")
    }

    @Test func anUpdateInstallsWhatTheNewReleaseNewlyDependsOnFirst() throws {
        let f = try StoreCLIFixture("store-update-deps")
        defer { try? FileManager.default.removeItem(at: f.dir) }
        let data = f.dir.path + "/data"
        try f.trust(data)
        let skill = [("SKILL.md", Data("a skill".utf8), "skill")] as [(String, Data, String?)]
        try f.publish("writer", kind: "skill", files: skill)
        #expect(try f.install("writer", grant: "none", data: data).status == 0)
        try f.publish("grammar", "2.0.0", kind: "skill", files: skill, extra: #""requests": {"effects": ["network"]}"#)
        try f.publish(
            "writer", "1.1.0", kind: "skill", files: skill, extra: #""dependencies": [{"name": "grammar", "minimumVersion": "2.0"}]"#)
        // The new dependency asks for the network: without --grant (and no terminal) nothing is granted, so nothing changes.
        let refused = try f.store(["update", "--registry", f.registry], data: data)
        #expect(refused.status != 0 && refused.stderr.contains("grammar asks for network, which was not granted"), "\(refused)")
        #expect(try f.store(["list"], data: data).stdout.contains("1.0.0"))
        let updated = try f.store(["update", "--registry", f.registry, "--grant", "network"], data: data)
        #expect(updated.status == 0, "\(updated.stderr)")
        #expect(
            updated.stdout.contains("installed grammar 2.0.0 (a new dependency)")
                && updated.stdout.contains("updated writer 1.0.0 → 1.1.0"), "\(updated.stdout)")
        // A progress bar per download, on standard error.
        for label in ["grammar 2.0.0 [", "writer 1.1.0 ["] { #expect(updated.stderr.contains(label), "\(updated.stderr)") }
        #expect(updated.stderr.contains("] 100% of "), "\(updated.stderr)")
        let list = try f.store(["list"], data: data).stdout
        #expect(list.contains("grammar") && list.contains("granted: network") && list.contains("1.1.0"), "\(list)")

        // The bill of materials for tools: signer, licence, every file's digest, what it needs.
        let info = try f.store(["info", "writer", "--json"], data: data)
        let bom = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any], "\(info.stdout)")
        #expect(bom["license"] as? String == "MIT" && bom["publisher"] as? String == "acme", "\(bom)")
        #expect((bom["signerKey"] as? String)?.isEmpty == false && (bom["rootDigest"] as? String)?.count == 64, "\(bom)")
        #expect((bom["files"] as? [[String: Any]])?.contains { $0["name"] as? String == "SKILL.md" && ($0["sha256"] as? String)?.count == 64 } == true)
        #expect(bom["dependencies"] as? [String] == ["grammar >= 2.0"], "\(bom)")
    }

    @Test func skillPackagesReachTheSkillLibraryOfAnimaDoVerifiedFirst() async throws {
        let f = try StoreCLIFixture("store-skills")
        defer { try? FileManager.default.removeItem(at: f.dir) }
        let data = f.dir.path + "/data"
        try f.trust(data)
        let document = """
            [{"description": "Convert a title into a URL slug: lowercase words joined by hyphens", "module": "slug",
              "code": "def slugify(text):\\n    return '-'.join(text.lower().split())\\n",
              "tests": {"test_slug.py": "from slug import slugify\\ndef test(): assert slugify('A B') == 'a-b'\\n"}}]
            """
        try f.publish(
            "slugs", kind: "skill",
            files: [("slug.json", Data(document.utf8), "skill"), ("bad.json", Data(#"[{"module": "x"}]"#.utf8), "skill")])
        #expect(try f.install("slugs", grant: "none", data: data).status == 0)
        let library = try SkillLibrary(directory: URL(fileURLWithPath: data))
        try await PackagedSkills.offer(to: library, dataDirectory: URL(fileURLWithPath: data))
        let found = try await library.retrieve("Write slugify: turn a title into a URL slug", owner: "anyone")
        let skill = try #require(found.first?.0, "\(found)")
        #expect(skill.module == "slug" && skill.code.contains("'-'.join") && skill.tests["test_slug.py"] != nil)
        #expect(skill.provenance.hasPrefix("package slugs 1.0.0 by acme"), "\(skill.provenance)")
        let (_, problems) = PackagedSkills.load(dataDirectory: URL(fileURLWithPath: data))
        #expect(problems.contains { $0.contains("bad.json is left out: skill 1 has no description") }, "\(problems)")

        // Changed after install: not offered, and the reason says so.
        try Data(document.replacingOccurrences(of: "'-'", with: "'_'").utf8).write(
            to: URL(fileURLWithPath: data + "/store/packages/slugs/slug.json"))
        let (skills, tampered) = PackagedSkills.load(dataDirectory: URL(fileURLWithPath: data))
        #expect(skills.isEmpty && tampered.contains { $0.contains("slug.json differs from its signed digest") }, "\(tampered)")
        try await PackagedSkills.offer(to: library, dataDirectory: URL(fileURLWithPath: data))
        #expect(try await library.retrieve("turn a title into a URL slug", owner: "anyone").isEmpty)
    }
}
