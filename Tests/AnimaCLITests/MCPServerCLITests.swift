import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `anima tools` with MCP servers that misbehave or sit next to Anima's own data.
@Suite("MCP servers through anima tools", .serialized)
struct MCPServerCLITests {
    /// A folder under /tmp that the sandbox's user can traverse.
    static func folder(_ name: String) throws -> String {
        let path = "/tmp/anima-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        return path
    }

    static func script(_ path: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
    }

    /// Runs `anima` and kills it after `limit` seconds; the result says how long it took.
    static func run(_ arguments: [String], environment: [String: String], limit: Double) throws -> (
        CLI.Result, seconds: Double, killed: Bool
    ) {
        let dir = try folder("cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/out"
        let err = dir + "/err"
        for path in [out, err] { FileManager.default.createFile(atPath: path, contents: nil) }
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = arguments
        process.environment = TestHome.environment(environment)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        let start = Date()
        try process.run()
        var killed = false
        while process.isRunning {
            if Date().timeIntervalSince(start) > limit {
                kill(process.processIdentifier, SIGKILL)
                killed = true
            }
            usleep(50_000)
        }
        process.waitUntilExit()
        let result = CLI.Result(
            status: process.terminationStatus,
            stdout: String(decoding: FileManager.default.contents(atPath: out) ?? Data(), as: UTF8.self),
            stderr: String(decoding: FileManager.default.contents(atPath: err) ?? Data(), as: UTF8.self))
        return (result, Date().timeIntervalSince(start), killed)
    }

    @Test func hostileServersFailFastWithAClearErrorEach() throws {
        let base = try Self.folder("mcp-hostile")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let bin = base + "/servers/bin"
        try Self.script(bin + "/quits", "#!/bin/sh\necho 'quits: cannot import mcp' >&2\nexit 3\n")
        try Self.script(bin + "/sleeper", "#!/bin/sh\nexec sleep 600\n")
        try Self.script(bin + "/garbage", "#!/usr/bin/python3\nimport sys\nchunk = 'x' * 65536\nwhile True:\n    sys.stdout.write(chunk)\n")
        try Self.script(
            bin + "/hugeline",
            """
            #!/usr/bin/python3
            import json, sys
            line = json.dumps({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "x" * (17 << 20)}})
            while True:
                sys.stdout.write(line + "\\n")
                sys.stdout.flush()

            """)
        try Self.script(
            bin + "/wrongid",
            """
            #!/usr/bin/python3
            import sys, time
            sys.stdin.readline()
            print('{"jsonrpc": "2.0", "id": "not-yours-999", "result": {}}', flush=True)
            time.sleep(600)

            """)
        let servers = ["quits", "sleeper", "garbage", "hugeline", "wrongid"].map { name in
            "{\"name\": \"\(name)\", \"command\": \"\(bin)/\(name)\", \"startupTimeout\": 2}"
        }
        try "{\"servers\": [\(servers.joined(separator: ", "))]}".write(toFile: base + "/mcp.json", atomically: true, encoding: .utf8)

        // Before: minutes at full CPU, the start-up timeout never firing.
        let (result, seconds, killed) = try Self.run(
            ["tools", "--json", "--mcp-config", base + "/mcp.json"], environment: ["ANIMA_WORKSPACES": base + "/workspaces"], limit: 120)
        #expect(!killed, "anima tools was still running after 120 s")
        #expect(seconds < 60, "anima tools took \(seconds) s for five servers with a 2 s start-up limit")
        #expect(result.status == 0, "\(result.stderr)")
        let output = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let problems = output?["problems"] as? [String] ?? []
        func problem(_ server: String) -> String { problems.first { $0.contains("MCP server \(server) ") } ?? "" }
        #expect(problem("quits").contains("closed its output"), "\(problems)")
        #expect(problem("quits").contains("quits: cannot import mcp"), "\(problems)")
        #expect(problem("sleeper").contains("took longer than its startupTimeout (2 s)"), "\(problems)")
        #expect(problem("garbage").contains("over 16 MiB"), "\(problems)")
        #expect(problem("hugeline").contains("over 16 MiB"), "\(problems)")
        #expect(problem("wrongid").contains("never sent (id not-yours-999)"), "\(problems)")
        // The built-ins are still there.
        let tools = (output?["tools"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(tools.contains("files"))
    }

    @Test func aServerInDotLocalBinSeesNoneOfAnimasFolders() throws {
        let home = try Self.folder("home")
        defer { try? FileManager.default.removeItem(atPath: home) }
        let animaFolders = [home + "/.local/share/anima", home + "/.local/state/anima", home + "/.config/anima"]
        for folder in animaFolders {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try "secret".write(toFile: folder + "/memory.key", atomically: true, encoding: .utf8)
        }
        let environment = [
            "HOME": home, "XDG_DATA_HOME": "", "XDG_CONFIG_HOME": "", "XDG_STATE_HOME": "", "XDG_RUNTIME_DIR": "",
            "ANIMA_WORKSPACES": "", "ANIMA_DATA_DIR": "", "ANIMA_CONFIG": "",
        ]
        let seen = try Self.probeInDotLocalBin(
            home: home, looking: animaFolders.map { $0 + "/memory.key" }, configFile: home + "/.config/anima/mcp.json",
            extraArguments: [], environment: environment)
        for folder in animaFolders {
            #expect(seen[folder + "/memory.key"] == false, "the server could see \(folder)")
        }
        // Its own installation is still there.
        #expect(seen[home + "/.local/lib/probe/marker"] == true)
        #expect(seen[home + "/.local/bin/probe"] == true)
    }

    /// A data directory given with `--data-dir` is as hidden as the default one: a server in
    /// `~/.local/bin` must not see `~/.local/anima-data` through its mounted `~/.local`.
    @Test func aDataDirectoryGivenOnTheCommandLineIsHiddenToo() throws {
        let home = try Self.folder("home")
        defer { try? FileManager.default.removeItem(atPath: home) }
        let data = home + "/.local/anima-data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try "secret".write(toFile: data + "/memory.key", atomically: true, encoding: .utf8)
        // Anima's default folders are elsewhere: only --data-dir names the one under ~/.local.
        let elsewhere = home + "/xdg"
        let environment = [
            "HOME": home, "XDG_DATA_HOME": elsewhere + "/data", "XDG_CONFIG_HOME": elsewhere + "/config",
            "XDG_STATE_HOME": elsewhere + "/state",
            "XDG_RUNTIME_DIR": elsewhere + "/run", "ANIMA_WORKSPACES": "", "ANIMA_DATA_DIR": "", "ANIMA_CONFIG": "",
        ]
        let seen = try Self.probeInDotLocalBin(
            home: home, looking: [data + "/memory.key"], configFile: home + "/mcp.json", extraArguments: ["--data-dir", data],
            environment: environment)
        #expect(seen[data + "/memory.key"] == false, "the server could see \(data)")
        #expect(seen[home + "/.local/lib/probe/marker"] == true)
    }

    /// Installs an MCP server where `pip --user` would (script in `~/.local/bin`, library in
    /// `~/.local/lib`), runs `anima tools --json` with it, and returns which of `looking`
    /// (plus its own library and script) the server could see from inside its sandbox.
    static func probeInDotLocalBin(
        home: String, looking: [String], configFile: String, extraArguments: [String], environment: [String: String]
    ) throws -> [String: Bool] {
        try FileManager.default.createDirectory(atPath: home + "/.local/lib/probe", withIntermediateDirectories: true)
        try "library".write(toFile: home + "/.local/lib/probe/marker", atomically: true, encoding: .utf8)
        let probe = home + "/.local/bin/probe"
        try Self.script(
            probe,
            """
            #!/usr/bin/python3
            import json, os, sys
            seen = {path: os.path.exists(path) for path in sys.argv[1:]}
            for line in sys.stdin:
                message = json.loads(line)
                if "id" not in message:
                    continue
                if message.get("method") == "initialize":
                    result = {"protocolVersion": message["params"]["protocolVersion"], "capabilities": {"tools": {}},
                              "serverInfo": {"name": "probe", "version": "1"}}
                elif message.get("method") == "tools/list":
                    result = {"tools": [{"name": "report", "description": "seen " + json.dumps(seen, sort_keys=True),
                                         "inputSchema": {"type": "object", "properties": {}}}]}
                else:
                    result = {}
                print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}), flush=True)

            """)
        let configuration: [String: Any] = [
            "servers": [["name": "probe", "command": probe, "args": looking + [home + "/.local/lib/probe/marker", probe]]]
        ]
        try FileManager.default.createDirectory(
            atPath: (configFile as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: configuration).write(to: URL(fileURLWithPath: configFile))
        let (result, _, killed) = try Self.run(
            ["tools", "--json", "--mcp-config", configFile] + extraArguments, environment: environment, limit: 120)
        #expect(!killed)
        let output = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let report = (output?["tools"] as? [[String: Any]] ?? []).first { $0["name"] as? String == "probe__report" }
        let description = try #require(
            report?["description"] as? String, "the probe did not start: \(output?["problems"] ?? result.stderr)")
        return try #require(
            try JSONSerialization.jsonObject(with: Data(description.replacingOccurrences(of: "[MCP server probe] seen ", with: "").utf8))
                as? [String: Bool])
    }
}
