import AnimaKernel
import AnimaSecurity
import Foundation
import Hummingbird
import Logging
import NIOCore

extension WebConsole {
    /// The console for a daemon over `kernel`, its state in `dataDirectory`, as the
    /// closure the daemon mounts.
    /// - Parameters:
    ///   - relyingPartyID: the host name people reach the console by (config key `web_rp_id`,
    ///     `ANIMA_WEB_RP_ID`, `--web-rp-id`); `localhost` by default.
    ///   - origins: origins accepted besides the console's own (`web_origins`), such as a reverse proxy's.
    ///   - tokens: the daemon's API tokens, for the tokens view; nil hides it.
    ///   - metrics: the daemon's Prometheus text, charted in the metrics view; nil charts only processes.
    public static func responder(
        kernel: Kernel, dataDirectory: URL, tls: Bool, relyingPartyID: String = "localhost", origins: [String] = [],
        tokens: (any ConsoleTokenRegistry)? = nil, metrics: (@Sendable () -> String)? = nil
    ) throws -> @Sendable (Request, any Channel, Logger) async throws -> Response {
        var configuration = WebConsoleConfiguration(relyingPartyID: relyingPartyID, tls: tls, extraOrigins: Set(origins))
        configuration.auditLogPath = dataDirectory.appendingPathComponent(AuditLog.fileName).path
        configuration.policyPath = dataDirectory.appendingPathComponent(SecurityMonitor.policyFileName).path
        configuration.tokens = tokens
        configuration.metrics = metrics
        let console = WebConsole(kernel: kernel, store: try ConsoleStore(directory: dataDirectory), configuration: configuration)
        return { request, channel, logger in try await console.respond(to: request, channel: channel, logger: logger) }
    }
}
