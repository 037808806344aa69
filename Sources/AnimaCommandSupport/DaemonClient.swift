import AnimaCore
import AnimaKernel
import AnimaServer
import AsyncHTTPClient
import Foundation
import NIOCore

/// The CLI's way to a running daemon: `anima serve` leaves a discovery file (its pid, URL
/// and data directory; no secret) next to the process table; commands use the daemon when
/// it answers, and run in-process when there is none.
///
/// To talk to it, a command mints its own token in the daemon's token store: only the
/// scope it needs, expiring in 10 minutes, dropped from the file once expired. So a crash
/// of either side leaves no long-lived, all-scopes secret behind.
package struct DaemonClient {
    package struct Discovery: Codable {
        var pid: Int32
        var url: String
        var dataDirectory: String
    }

    /// How long a command's token lives: long enough to start any request; a stream
    /// already running is not cut when it expires.
    package static let tokenLifetime: TimeInterval = 600

    package let url: String
    package let token: String

    package static var file: URL { ProcFS().directory.appendingPathComponent("daemon.json") }

    /// The running daemon, if there is one that answers /health, with a fresh token for
    /// `scope` acting as the current user.
    package static func discover(scope: Scope) async throws -> DaemonClient? {
        try await discover(scopes: [scope])
    }

    /// The running daemon, if there is one that answers /health, with a fresh token for
    /// `scopes`, acting as the current user.
    package static func discover(scopes: [Scope]) async throws -> DaemonClient? {
        try await discoverWithDataDirectory(scopes: scopes)?.client
    }

    /// The running daemon and the data directory it serves, with a fresh token for `scopes`.
    package static func discoverWithDataDirectory(scopes: [Scope]) async throws -> (client: DaemonClient, dataDirectory: String)? {
        guard let data = FileManager.default.contents(atPath: file.path),
            let found = try? JSONDecoder().decode(Discovery.self, from: data), kill(found.pid, 0) == 0
        else { return nil }
        var request = HTTPClientRequest(url: found.url + "/health")
        request.method = .GET
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(2)), response.status == .ok else {
            return nil
        }
        let store = try TokenStore(directory: URL(fileURLWithPath: found.dataDirectory))
        let user = CurrentUser.principal
        let minted = try await store.create(
            name: "cli-" + scopes.map(\.rawValue).joined(separator: "-"), user: user.name, groups: user.groups.sorted(),
            scopes: scopes, expires: Date().addingTimeInterval(tokenLifetime), shortLived: true)
        return (DaemonClient(url: found.url, token: minted.secret), found.dataDirectory)
    }

    /// Writes the discovery file for this daemon; removes it when `remove()` is called.
    package static func publish(_ discovery: Discovery) throws {
        let data = try JSONEncoder().encode(discovery)
        try FileManager.default.createDirectory(
            at: file.deletingLastPathComponent(), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try DurableFile.write(data, to: file)
    }

    package static func remove() { try? FileManager.default.removeItem(at: file) }

    /// Sends a request (a JSON body when given) and returns the answer's JSON and headers;
    /// an error status becomes a `CLIError` with the daemon's message.
    package func call(_ path: String, posting body: JSONValue? = nil) async throws -> (json: JSONValue, headers: [String: String]) {
        var request = HTTPClientRequest(url: url + path)
        request.method = body == nil ? .GET : .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body.jsonText))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .minutes(30))
        let text = String(buffer: try await response.body.collect(upTo: 64 << 20))
        guard (200..<300).contains(response.status.code) else {
            let message = (try? JSONValue(parsing: text))?["error"]?["message"]?.stringValue ?? text
            throw CLIError("the daemon refused the request (\(response.status.code)): \(message)")
        }
        var headers: [String: String] = [:]
        for (name, value) in response.headers { headers[name.lowercased()] = value }
        return (text.isEmpty ? .null : try JSONValue(parsing: text), headers)
    }

    /// POSTs JSON and calls `onEvent` with each server-sent event (name, data) as it arrives.
    package func stream(_ path: String, _ body: JSONValue, onEvent: (String?, String) throws -> Void) async throws {
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
