import Foundation
import NIOSSL
import PostgresNIO

/// Where a shared run queue lives: a `postgres://` URL, parsed into a client configuration.
///
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|require]` reaches a
/// server over TCP; `postgres://USER@/DATABASE?host=/run/postgresql` over the Unix socket in
/// that directory (as libpq spells it).
///
/// `sslmode=require` encrypts and, unlike libpq's, always verifies the server's certificate
/// and name: against the system's roots, or against the CA certificates (PEM) of
/// `sslrootcert=/path` (a private CA; libpq's `verify-full` with that file).
public struct PostgresWorkflowLocation: Sendable, CustomStringConvertible {
    public let configuration: PostgresClient.Configuration
    /// The same server for one direct connection: the store opens one before it uses the
    /// pool, so a refusal (TLS, a certificate no root signed, authentication) is an error at
    /// once, with its reason, instead of a pool that retries it for minutes.
    public let probe: PostgresConnection.Configuration
    /// The URL without its password, for logs and errors.
    public let description: String

    public init(url text: String) throws(WorkflowError) {
        func bad(_ reason: String) -> WorkflowError {
            .storage(
                "the database URL is not usable: \(reason); write postgres://USER:PASSWORD@HOST:PORT/DATABASE or postgres://USER@/DATABASE?host=/socket/directory"
            )
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "postgres" || scheme == "postgresql"
        else { throw bad("it does not start with postgres://") }
        let user = components.user.flatMap { $0.removingPercentEncoding } ?? ""
        guard !user.isEmpty else { throw bad("it names no user") }
        let password = components.password.flatMap { $0.removingPercentEncoding }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw bad("it names no database (the path)") }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        let sslmode = query["sslmode"] ?? "disable"
        guard ["disable", "require"].contains(sslmode) else { throw bad("sslmode must be disable or require, not \(sslmode)") }
        let rootCertificate = query["sslrootcert"].flatMap { $0.isEmpty ? nil : ($0 as NSString).expandingTildeInPath }
        if let rootCertificate {
            guard sslmode == "require" else { throw bad("sslrootcert needs sslmode=require") }
            guard FileManager.default.isReadableFile(atPath: rootCertificate) else {
                throw bad("sslrootcert \(rootCertificate) cannot be read")
            }
        }
        var configuration: PostgresClient.Configuration
        var probe: PostgresConnection.Configuration
        var shown = "postgres://\(user)@"
        if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
            guard sslmode == "disable" else { throw bad("a Unix socket takes no TLS") }
            let socket = socketDirectory + "/.s.PGSQL.\(components.port ?? 5432)"
            configuration = .init(unixSocketPath: socket, username: user, password: password, database: database)
            probe = .init(unixSocketPath: socket, username: user, password: password, database: database)
            shown += "/\(database)?host=\(socketDirectory)"
        } else {
            guard let host = components.host, !host.isEmpty else { throw bad("it names no host (nor ?host=/socket/directory)") }
            let port = components.port ?? 5432
            guard (1...65535).contains(port) else { throw bad("port \(port) is out of range") }
            var tls = TLSConfiguration.makeClientConfiguration()
            if let rootCertificate { tls.trustRoots = .file(rootCertificate) }
            configuration = .init(
                host: host, port: port, username: user, password: password, database: database,
                tls: sslmode == "require" ? .require(tls) : .disable)
            var context: NIOSSLContext?
            if sslmode == "require" {
                do { context = try NIOSSLContext(configuration: tls) } catch {
                    throw bad("its TLS settings are not usable (\(error)); check sslrootcert")
                }
            }
            probe = .init(
                host: host, port: port, username: user, password: password, database: database,
                tls: context.map { .require($0) } ?? .disable)
            shown += "\(host):\(port)/\(database)"
        }
        configuration.options.connectTimeout = .seconds(10)
        self.configuration = configuration
        probe.options.connectTimeout = .seconds(10)
        self.probe = probe
        description = shown
    }
}
