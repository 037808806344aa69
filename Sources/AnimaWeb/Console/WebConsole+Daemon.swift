import AnimaKernel
import AnimaSecurity
import Foundation
import Hummingbird
import Logging
import NIOCore

extension WebConsole {
    /// The console for a daemon over `kernel`, its state in `dataDirectory`, as the
    /// closure the daemon mounts. The relying party id comes from `ANIMA_WEB_RP_ID`
    /// (default `localhost`); extra origins from `ANIMA_WEB_ORIGINS`, comma-separated.
    public static func responder(
        kernel: Kernel, dataDirectory: URL, tls: Bool, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> @Sendable (Request, any Channel, Logger) async throws -> Response {
        let rpID = environment["ANIMA_WEB_RP_ID"].flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
        let origins = Set(
            (environment["ANIMA_WEB_ORIGINS"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            })
        var configuration = WebConsoleConfiguration(relyingPartyID: rpID, tls: tls, extraOrigins: origins)
        configuration.auditLogPath = dataDirectory.appendingPathComponent(AuditLog.fileName).path
        let console = WebConsole(kernel: kernel, store: try ConsoleStore(directory: dataDirectory), configuration: configuration)
        return { request, channel, logger in try await console.respond(to: request, channel: channel, logger: logger) }
    }
}
