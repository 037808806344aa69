import Foundation

/// A throwaway PostgreSQL server for tests and benchmarks, from the binaries `make setup`
/// installs (PyPI's pgserver under the cache), started once per process in a temporary
/// directory and reached over its Unix socket.
///
/// PostgreSQL refuses to run as root, so under root it runs as `nobody` from a copy of the
/// binaries. A watchdog shell stops the server and removes the directory when this process
/// exits, however it exits (kill -9 included).
public enum PostgresTestServer {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    struct Server: Sendable {
        let socketDirectory: String
        let binaries: String
        let libraries: String
    }

    static let shared = Task<Server, any Error> { try start() }

    /// A URL of a new, empty database on the shared server (`postgres://anima@/NAME?host=SOCKETDIR`).
    public static func freshDatabaseURL() async throws -> String {
        let server = try await shared.value
        let name = "anima_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try psql(server, "CREATE DATABASE \(name)")
        return "postgres://anima@/\(name)?host=\(server.socketDirectory)"
    }

    /// True when setup installed the server binaries.
    public static var isInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: URL(fileURLWithPath: installation).resolvingSymlinksInPath().path + "/bin/postgres")
    }

    static var installation: String {
        let env = ProcessInfo.processInfo.environment
        let cache =
            env["ANIMA_CACHE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.cache") + "/anima"
        return cache + "/pgserver"
    }

    static func start() throws -> Server {
        let source = URL(fileURLWithPath: installation).resolvingSymlinksInPath().path
        guard FileManager.default.isExecutableFile(atPath: source + "/bin/postgres") else {
            throw Failure(description: "PostgreSQL (pgserver) is missing at \(installation); run `make setup`")
        }
        let root = try shell("mktemp -d /tmp/anima-pg.XXXXXX").trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            return try start(source: source, root: root)
        } catch {
            _ = try? shell("rm -rf '\(root)'")
            throw error
        }
    }

    static func start(source: String, root: String) throws -> Server {
        var binaries = source
        var libraries = source + "/../../pgserver.libs"
        var run = ""
        if getuid() == 0 {
            binaries = root + "/pginstall"
            libraries = root + "/pgserver.libs"
            run = "setpriv --reuid=nobody --regid=nogroup --clear-groups --"
            _ = try shell(
                """
                cp -a '\(source)' '\(binaries)' && cp -a '\(source)/../../pgserver.libs' '\(libraries)' && chmod 755 '\(root)' \
                && mkdir '\(root)/data' '\(root)/socket' && chown nobody:nogroup '\(root)/data' '\(root)/socket'
                """)
        } else {
            _ = try shell("mkdir '\(root)/data' '\(root)/socket'")
        }
        let env = "LD_LIBRARY_PATH='\(binaries)/lib:\(libraries)'"
        _ = try shell(
            "cd / && \(env) \(run) '\(binaries)/bin/initdb' -D '\(root)/data' -U anima --auth=trust -E UTF8 --locale=C >'\(root)/initdb.log' 2>&1 || { cat '\(root)/initdb.log'; exit 1; }"
        )
        let me = getpid()
        let watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/bin/sh")
        watchdog.arguments = [
            "-c",
            """
            cd / && \(env) \(run) '\(binaries)/bin/postgres' -D '\(root)/data' -k '\(root)/socket' -c listen_addresses='' \
              -c max_connections=300 >'\(root)/postgres.log' 2>&1 & pg=$!; \
            while kill -0 \(me) 2>/dev/null && kill -0 $pg 2>/dev/null; do sleep 1; done; \
            kill -INT $pg 2>/dev/null; wait $pg 2>/dev/null; rm -rf '\(root)'
            """,
        ]
        watchdog.standardInput = FileHandle.nullDevice
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice
        try watchdog.run()
        let server = Server(socketDirectory: root + "/socket", binaries: binaries, libraries: libraries)
        let deadline = Date().addingTimeInterval(60)
        while (try? psql(server, "SELECT 1")) == nil {
            if Date() > deadline {
                let log = (try? String(contentsOfFile: root + "/postgres.log", encoding: .utf8)) ?? ""
                throw Failure(description: "PostgreSQL did not start within 60 s: \(log)")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return server
    }

    @discardableResult
    static func psql(_ server: Server, _ sql: String) throws -> String {
        try shell(
            "LD_LIBRARY_PATH='\(server.binaries)/lib:\(server.libraries)' '\(server.binaries)/bin/psql' -X -q -t -h '\(server.socketDirectory)' -U anima -d postgres -c \"\(sql)\""
        )
    }

    /// Runs `command` with /bin/sh; its output, or a `Failure` holding it when it fails.
    @discardableResult
    public static func shell(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw Failure(description: "`\(command.prefix(120))` failed: \(text)") }
        return text
    }
}
