import AnimaCore

/// Why the router could not serve a request.
public enum RouterError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Every candidate was ruled out.
    case noProcessor(excluded: [RoutingDecision.Exclusion], staysLocal: Bool)
    /// Every candidate tried failed; each with its error, in order.
    case allFailed([RoutingDecision.Exclusion])
    /// A candidate off this machine was about to receive a request that must stay here.
    /// The routing rules make this impossible; the check exists in case they are wrong.
    case privacyViolation(candidate: String, decision: UInt64)
    case unknownDecision(UInt64)
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .noProcessor(let excluded, let staysLocal):
            "no processor can serve this request"
                + (excluded.isEmpty ? " (none is configured)" : ": " + excluded.map(\.description).joined(separator: "; "))
                + (staysLocal
                    ? ". The request must stay on this machine; configure a local model that can serve it"
                    : ". Run `anima setup` to add a processor that can")
        case .allFailed(let failures):
            "every processor tried failed: " + failures.map(\.description).joined(separator: "; ")
        case .privacyViolation(let candidate, let decision):
            "refused to send the private request of decision #\(decision) to \(candidate), which is not on this machine; "
                + "this is a bug in the routing rules, please report it"
        case .unknownDecision(let id):
            "no routing decision #\(id) is remembered; rewards must come soon after their request"
        case .invalidConfiguration(let reason):
            "invalid router configuration: \(reason)"
        }
    }
}
