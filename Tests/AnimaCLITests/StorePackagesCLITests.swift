import AnimaCore
import Foundation
import Testing

/// Tool and workflow packages as a user meets them after `anima store install`: the
/// tool package's MCP server in `anima tools`, callable only under what was granted; the
/// workflow package's workflow in `anima workflow list`; every store change in the audit log.
@Suite("anima store: tool and workflow packages")
struct StorePackagesCLITests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anima-store-packages-\(UUID().uuidString)")

    /// Writes `manifest` into a new package folder `name` holding `files` (name, contents).
    func package(_ name: String, manifest: String, files: [(String, Data)]) throws -> URL {
        let folder = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (file, contents) in files { try contents.write(to: folder.appendingPathComponent(file)) }
        try Data(manifest.utf8).write(to: folder.appendingPathComponent("anima-package.json"))
        return folder
    }

    @Test func aToolPackageServesItsToolsUnderItsGrantsAndAWorkflowPackageIsListed() throws {
        let python = MCPToolsCLITests.toolsPython
        try #require(FileManager.default.isExecutableFile(atPath: python), "run scripts/setup.sh to install the tools venv")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.path + "/data"
        let env = ["XDG_DATA_HOME": data, "ANIMA_WORKSPACES": dir.path + "/workspaces"]
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let key = dir.path + "/acme.pem"
        #expect(try CLI.run(["store", "keygen", "--out", key]).status == 0)
        let server = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Servers/mail_server.py")
        let tool = try package(
            "mail-tools",
            manifest: """
                {"schemaVersion": 1, "name": "mail-tools", "version": "1.0.0", "publisher": "acme", "kind": "tool", "license": "MIT",
                 "description": "a mailbox over MCP", "files": [{"path": "mail_server.py"}],
                 "tool": {"protocol": "mcp", "entry": "mail_server.py", "interpreter": "\(python)", "startupTimeout": 30},
                 "requests": {"effects": ["network"]}}
                """, files: [("mail_server.py", try Data(contentsOf: server))])
        let flow = try package(
            "digest-flow",
            manifest: """
                {"schemaVersion": 1, "name": "digest-flow", "version": "2.0.0", "publisher": "acme", "kind": "workflow",
                 "license": "MIT", "description": "a daily digest", "files": [{"path": "digest.json", "role": "workflow"}]}
                """, files: [("digest.json", Data(StoreLoadingCLITests.digest.utf8))])
        let registry = dir.path + "/registry"
        for folder in [tool, flow] {
            let published = try CLI.run(["store", "publish", folder.path, "--sign", "--key", key, "--to", registry])
            #expect(published.status == 0, "\(published.stderr)")
        }
        #expect(try CLI.run(["store", "trust", "add", "acme", dir.path + "/acme.pub.pem"], environment: env).status == 0)
        for (name, grant) in [("mail-tools", "network"), ("digest-flow", "none")] {
            let installed = try CLI.run(["store", "install", name, "--grant", grant, "--registry", registry], environment: env)
            #expect(installed.status == 0, "\(installed.stderr)")
        }

        let listed = try CLI.run(["tools", "--json", "--mcp-config", dir.path + "/none.json"], environment: env)
        #expect(listed.status == 0, "\(listed.stderr)")
        let output = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any], "\(listed.stdout)")
        let tools = (output["tools"] as? [[String: Any]] ?? []).filter { ($0["name"] as? String)?.hasPrefix("mail-tools__") == true }
        #expect(tools.count >= 3, "\(listed.stdout)")
        #expect(tools.allSatisfy { $0["groups"] as? [String] == ["net"] }, "the granted network is the net group: \(tools)")
        // Granted network: callable only by a holder of net, as any networked server.
        let denied = try CLI.run(["tool", "run", "mail-tools__list_emails", "--mcp-config", dir.path + "/none.json"], environment: env)
        #expect(
            denied.status != 0 && (denied.stdout + denied.stderr).contains("needs the group(s) net"), "\(denied.stdout)\(denied.stderr)")
        let called = try CLI.run(
            ["tool", "run", "mail-tools__list_emails", "--group", "net", "--mcp-config", dir.path + "/none.json"], environment: env)
        #expect(called.status == 0 && called.stdout.contains("June 13"), "\(called.stdout)\(called.stderr)")

        let workflows = try CLI.run(["workflow", "list"], environment: env)
        #expect(workflows.status == 0, "\(workflows.stderr)")
        let line = workflows.stdout.split(separator: "\n").first { $0.hasPrefix("digest\t") } ?? ""
        #expect(line.contains("(package digest-flow)"), "installing registered the workflow: \(workflows.stdout)")

        // A changed tool package is refused before its server starts.
        try Data("print('pwned')".utf8).write(to: URL(fileURLWithPath: data + "/anima/store/packages/mail-tools/mail_server.py"))
        let tampered = try CLI.run(["tools", "--json", "--mcp-config", dir.path + "/none.json"], environment: env)
        #expect(!tampered.stdout.contains("mail-tools__"), "\(tampered.stdout)")
        #expect(tampered.stdout.contains("mail_server.py differs from its signed digest"), "\(tampered.stdout)")

        let audit = try String(contentsOfFile: data + "/anima/audit.log", encoding: .utf8)
        for action in ["store.trust.add", "store.grant", "store.install", "store.verify"] {
            #expect(audit.contains("\"\(action)\""), "\(action) missing from the audit log")
        }
        #expect(audit.components(separatedBy: "\"store.install\"").count - 1 == 2, "\(audit)")
    }
}
