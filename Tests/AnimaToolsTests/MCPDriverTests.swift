import AnimaCore
import Foundation
import Testing

@testable import AnimaTools

/// The reference MCP servers from PyPI, installed by scripts/setup.sh.
enum ReferenceServers {
    static let venv = (ProcessInfo.processInfo.environment["ANIMA_CACHE"] ?? NSHomeDirectory() + "/.cache/anima") + "/tools-venv"
    static let time = venv + "/bin/mcp-server-time"
    static let fetch = venv + "/bin/mcp-server-fetch"
}

@Suite("MCP servers as drivers", .serialized)
struct MCPDriverTests {
    @Test func timeServerToolsAreListedValidatedAndRunSandboxed() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: ReferenceServers.time), "run scripts/setup.sh to install mcp-server-time")
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let driver = MCPDriver(
            MCPServerConfiguration(name: "time", command: ReferenceServers.time, args: ["--local-timezone", "UTC"]),
            workspaceBase: fixture.base + "/drivers")
        let tools = try await driver.start()
        #expect(tools.map(\.name).sorted() == ["time__convert_time", "time__get_current_time"])
        let current = try #require(tools.first { $0.name == "time__get_current_time" })
        #expect(current.requiredGroups.isEmpty)
        #expect(current.parameters.json["required"] == ["timezone"])

        let context = try fixture.context()
        let result = await current.call(["timezone": "Europe/Paris"], in: context)
        #expect(!result.isError, "\(result.text)")
        #expect(result.text.contains("Europe/Paris"))
        #expect(result.text.contains("datetime"))

        // Anima validates before the server sees anything.
        let missing = await current.call([:], in: context)
        #expect(missing.isError)
        #expect(missing.text.contains("invalid arguments for time__get_current_time"))
        let wrongType = await current.call(["timezone": 5], in: context)
        #expect(wrongType.isError)
        #expect(wrongType.text.contains("invalid arguments"))
        // The server's own errors come back as error results.
        let bad = await current.call(["timezone": "Mars/Olympus_Mons"], in: context)
        #expect(bad.isError, "\(bad.text)")

        // The server runs in the sandbox: bubblewrap leads it, and its processes have
        // another mount namespace and the sandbox's user.
        let pid = try #require(await driver.sandboxPID)
        let command = String(decoding: FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data(), as: UTF8.self)
        #expect(command.hasPrefix("/usr/bin/bwrap"))
        let ourNamespace = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt")
        let inside = descendants(of: pid).filter {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\($0)/ns/mnt")) != ourNamespace
        }
        #expect(!inside.isEmpty)
        for child in inside {
            let status = String(decoding: FileManager.default.contents(atPath: "/proc/\(child)/status") ?? Data(), as: UTF8.self)
            if status.contains("python") || status.contains("mcp-server") {
                // Its own workspace's user (the directory's owner), where Anima runs as root.
                let uid = geteuid() == 0 ? try Workspace(existing: fixture.base + "/drivers/time").owner ?? 65534 : 65534
                #expect(status.contains("Uid:\t\(uid)"))
            }
        }
        await driver.stop()
        try await Task.sleep(for: .milliseconds(200))
        #expect(!FileManager.default.fileExists(atPath: "/proc/\(pid)/cmdline"))
    }

    @Test func fetchServerNeedsTheNetGroup() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: ReferenceServers.fetch), "run scripts/setup.sh to install mcp-server-fetch")
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let site = fixture.base + "/site"
        try FileManager.default.createDirectory(atPath: site, withIntermediateDirectories: true)
        try "<html><body><h1>Hello from the local server</h1></body></html>".write(
            toFile: site + "/index.html", atomically: true, encoding: .utf8)
        let server = try LocalHTTPServer(serving: site)
        defer { server.stop() }
        let driver = MCPDriver(
            MCPServerConfiguration(
                name: "fetch", command: ReferenceServers.fetch, args: ["--ignore-robots-txt", "--allow-private-ips"], groups: ["net"]),
            workspaceBase: fixture.base + "/drivers")
        let tools = try await driver.start()
        let fetch = try #require(tools.first { $0.name == "fetch__fetch" })
        #expect(fetch.requiredGroups == ["net"])
        #expect(fetch.effect == .network)
        let url = JSONValue.string("http://127.0.0.1:\(server.port)/index.html")
        let denied = await fetch.call(["url": url], in: try fixture.context(groups: ["users"]))
        #expect(denied.isError)
        #expect(denied.text.contains("needs the group(s) net"))
        // raw: the server's HTML simplifier (readabilipy) wants to `npm install`, which the
        // sandbox (no network for npm's registry, read-only system) rightly stops.
        let granted = await fetch.call(["url": url, "raw": true], in: try fixture.context(groups: ["users", "net"]))
        #expect(!granted.isError, "\(granted.text)")
        #expect(granted.text.contains("Hello from the local server"))
        await driver.stop()
    }

    @Test func configurationIsReadAndCheckedFromAFile() throws {
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let file = fixture.base + "/mcp.json"
        try #"{"servers": [{"name": "time", "command": "/usr/bin/true", "args": ["-x"], "groups": ["net"]}]}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        let servers = try MCPServerConfiguration.load(from: file)
        #expect(servers == [MCPServerConfiguration(name: "time", command: "/usr/bin/true", args: ["-x"], groups: ["net"])])
        #expect(servers[0].network)
        try #"{"servers": [{"name": "x", "command": "relative/server"}]}"#.write(toFile: file, atomically: true, encoding: .utf8)
        #expect { try MCPServerConfiguration.load(from: file) } throws: { "\($0)".contains("absolute path") }
        try "not json".write(toFile: file, atomically: true, encoding: .utf8)
        #expect { try MCPServerConfiguration.load(from: file) } throws: { "\($0)".contains("not a valid MCP configuration") }
        #expect(try MCPServerConfiguration.load(from: fixture.base + "/absent.json").isEmpty)
    }

    @Test func startupTimeoutIsCheckedAndMountsLeaveOutAnimasFolders() throws {
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let file = fixture.base + "/mcp.json"
        for bad in ["0", "-1", "601", "1e300"] {
            try #"{"servers": [{"name": "x", "command": "/usr/bin/true", "startupTimeout": \#(bad)}]}"#.write(
                toFile: file, atomically: true, encoding: .utf8)
            #expect { try MCPServerConfiguration.load(from: file) } throws: { "\($0)".contains("startupTimeout") }
        }
        let home = fixture.base + "/home"
        let data = home + "/.local/share/anima"
        for folder in [data, home + "/.local/share/fonts", home + "/.local/lib", home + "/.local/bin"] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        let server = MCPServerConfiguration(name: "s", command: home + "/.local/bin/server")
        #expect(try server.mountedPaths(protecting: [data]) == [home + "/.local/bin", home + "/.local/lib", home + "/.local/share/fonts"])
        #expect(try MCPServerConfiguration(name: "s", command: "/opt/s/bin/server").mountedPaths(protecting: [data]) == ["/opt/s"])
        let exposing = MCPServerConfiguration(name: "s", command: "/opt/s/bin/server", readOnlyPaths: [home])
        #expect { try exposing.mountedPaths(protecting: [data]) } throws: { "\($0)".contains("contains Anima's own folder \(data)") }
        let inside = MCPServerConfiguration(name: "s", command: data + "/bin/server")
        #expect { try inside.mountedPaths(protecting: [data]) } throws: { "\($0)".contains("inside Anima's own folder") }
    }

    private func descendants(of pid: Int32) -> [Int32] {
        var result: [Int32] = []
        var frontier = [pid]
        let all = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init)
        while let parent = frontier.popLast() {
            for candidate in all {
                guard let stat = FileManager.default.contents(atPath: "/proc/\(candidate)/stat") else { continue }
                let text = String(decoding: stat, as: UTF8.self)
                guard let close = text.lastIndex(of: ")") else { continue }
                let fields = text[text.index(after: close)...].split(separator: " ")
                if fields.count > 1, Int32(fields[1]) == parent {
                    result.append(candidate)
                    frontier.append(candidate)
                }
            }
        }
        return result
    }
}
