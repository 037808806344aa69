import AnimaCore
import AnimaKernel
import AsyncHTTPClient
import Foundation
import NIOCore

/// The CLI's way to a running daemon: `anima serve` leaves a discovery file (its URL and a
/// token for this user, 0600) next to the process table; commands use the daemon when it
/// answers, and run in-process when there is none.
struct DaemonClient {
    struct Discovery: Codable {
        var pid: Int32
        var url: String
        var token: String
    }

    let url: String
    let token: String

    static var file: URL { ProcFS().directory.appendingPathComponent("daemon.json") }

    /// The running daemon, if there is one that answers /health.
    static func discover() async -> DaemonClient? {
        guard let data = FileManager.default.contents(atPath: file.path),
            let found = try? JSONDecoder().decode(Discovery.self, from: data), kill(found.pid, 0) == 0
        else { return nil }
        let client = DaemonClient(url: found.url, token: found.token)
        var request = HTTPClientRequest(url: found.url + "/health")
        request.method = .GET
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(2)), response.status == .ok else {
            return nil
        }
        return client
    }

    /// Writes the discovery file for this daemon; removes it when `remove()` is called.
    static func publish(_ discovery: Discovery) throws {
        let data = try JSONEncoder().encode(discovery)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard FileManager.default.createFile(atPath: file.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CLIError("cannot write \(file.path)")
        }
    }

    static func remove() { try? FileManager.default.removeItem(at: file) }

    /// POSTs JSON and calls `onEvent` with each server-sent event (name, data) as it arrives.
    func stream(_ path: String, _ body: JSONValue, onEvent: (String?, String) throws -> Void) async throws {
        var request = HTTPClientRequest(url: url + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body.jsonText))
        let response = try await HTTPClient.shared.execute(request, timeout: .hours(24))
        guard response.status == .ok else {
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            let message = (try? JSONValue(parsing: text))?["error"]?["message"]?.stringValue ?? text
            throw CLIError("the daemon refused the request (\(response.status.code)): \(message)")
        }
        var pending = ""
        for try await chunk in response.body {
            pending += String(buffer: chunk)
            while let end = pending.range(of: "\n\n") {
                let block = String(pending[..<end.lowerBound])
                pending = String(pending[end.upperBound...])
                var name: String?
                var data = ""
                for line in block.split(separator: "\n") {
                    if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                    if line.hasPrefix("data: ") { data += line.dropFirst(6) }
                }
                try onEvent(name, data)
            }
        }
    }
}
