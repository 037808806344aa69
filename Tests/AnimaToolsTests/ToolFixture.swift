import AnimaCore
import Foundation

@testable import AnimaTools

#if canImport(Glibc)
import Glibc
#endif

/// Workspaces in a fresh directory (under /tmp, so the sandbox user can reach them) and
/// contexts for calling tools as an agent.
struct ToolFixture {
    let base: String

    init() throws {
        base = "/tmp/anima-tools-tests-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        chmod(base, 0o755)
    }

    func workspace(_ agent: String) throws -> Workspace {
        try Workspace(agent: agent, base: base)
    }

    func context(_ agent: String = "agent-a", groups: Set<String> = ["users"], sandbox: Sandbox = .standard) throws -> ToolContext {
        ToolContext(agent: agent, workspace: try workspace(agent), groups: groups, sandbox: sandbox)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: base)
    }
}

/// Processes on this machine whose command line contains `marker`.
func processes(containing marker: String) -> [String] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.filter { $0.allSatisfy(\.isNumber) }.compactMap { pid in
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        let line = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
        return line.contains(marker) ? "\(pid): \(line)" : nil
    }
}

/// A TCP listener on 127.0.0.1 that accepts connections and counts them.
final class TCPListener: @unchecked Sendable {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw ToolError.failed("could not listen: \(errno)")
        }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(fd) }
}

/// `python3 -m http.server` on a free port, serving `directory`.
final class LocalHTTPServer: @unchecked Sendable {
    let process = Process()
    let port: Int

    init(serving directory: String) throws {
        port = Int(try TCPListener().port)  // a free port, released for the server
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory", directory]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if Self.accepts(port) { return }
            usleep(50_000)
        }
        process.terminate()
        throw ToolError.failed("http.server did not start on port \(port)")
    }

    private static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
