import Foundation

/// Where the console is reached from and how its cookies are set.
public struct WebConsoleConfiguration: Sendable {
    /// The relying party id: the host name people type (`localhost` for a local daemon).
    public var relyingPartyID: String
    /// Shown by the browser when it asks about a passkey.
    public var relyingPartyName: String = "Anima"
    /// Origins accepted besides `scheme://relyingPartyID:port` of the listening port
    /// (a reverse proxy's origin, say).
    public var extraOrigins: Set<String> = []
    /// Whether the daemon serves TLS: the console's own origin is then https.
    public var tls: Bool
    /// Sign-ins and registrations must verify the user (PIN or biometric).
    public var requireUserVerification: Bool = true
    /// The hash-chained audit log the audit view reads and verifies (the `logs` group's).
    public var auditLogPath: String?
    /// The data-flow policy file the policies view reads and root edits (`policy.json`).
    public var policyPath: String?
    /// The daemon's API tokens, for the tokens view; nil hides it.
    public var tokens: (any ConsoleTokenRegistry)?
    /// The daemon's metrics as Prometheus text (what `GET /metrics` answers), charted over
    /// time in the metrics view for root and the `logs` group; nil charts only processes.
    public var metrics: (@Sendable () -> String)?

    public init(relyingPartyID: String = "localhost", tls: Bool = false, extraOrigins: Set<String> = []) {
        self.relyingPartyID = relyingPartyID
        self.tls = tls
        self.extraOrigins = extraOrigins
    }

    /// The origins a ceremony or a form may come from, on the port the request arrived at.
    func origins(port: Int?) -> Set<String> {
        var origins = extraOrigins
        let scheme = tls ? "https" : "http"
        if let port {
            origins.insert("\(scheme)://\(relyingPartyID):\(port)")
            if (tls && port == 443) || (!tls && port == 80) { origins.insert("\(scheme)://\(relyingPartyID)") }
        }
        return origins
    }
}
