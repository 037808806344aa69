import AnimaCore
import Foundation

/// The kernel's reference monitor for data flow: the policy engine that checks the
/// provenance of every side-effecting tool call, the guards around the model, and who
/// to ask when a policy says "ask".
///
/// With a monitor configured, the kernel labels every tool output, IPC message and memory
/// read that reaches a process, tracks each process's `ProvenanceLedger`, and runs
/// `check` before any tool call whose effect is not read-only.
public struct SecurityMonitor: Sendable {
    /// Asks the user to allow one call; true to allow.
    public typealias Confirm = @Sendable (Confirmation) async -> Bool
    /// Asks a person to allow one call, and says how it went.
    public typealias Ask = @Sendable (Confirmation) async -> ConfirmationAnswer

    public var engine: PolicyEngine
    public var guards: GuardPipeline?
    public var confirm: Confirm?
    /// Asks a person and says who answered, or why no one did; used before `confirm`.
    /// The kernel sets it to put the question to whoever can answer for the process
    /// (a terminal, a client watching the agent, an MCP client).
    public var ask: Ask?
    /// False for the `open` monitor: no provenance is tracked and every call is allowed.
    public private(set) var tracksProvenance = true

    /// - Parameters:
    ///   - policy: the data-flow rules; `.strict` by default (only the user and the system
    ///     prompt may feed a side effect).
    ///   - guards: the scanners around the model; nil means the built-in scanners acting
    ///     as `policy.guards` says (use `policyOnly` for none).
    ///   - confirm: who answers "ask"; nil means nobody can, and "ask" denies.
    public init(policy: SecurityPolicy = .strict, guards: GuardPipeline? = nil, confirm: Confirm? = nil) {
        engine = PolicyEngine(policy: policy)
        self.guards = guards ?? GuardPipeline(policy: policy.guards)
        self.confirm = confirm
    }

    /// The policy file a data directory may hold.
    public static let policyFileName = "policy.json"

    /// The version of the policy file this monitor was made from (`SecurityPolicy.digest` of
    /// its text, or "strict default" where there was none); nil for one made from a value.
    public private(set) var fileDigest: String?

    /// The monitor for an installation: the policy in `directory/policy.json` if there is
    /// one (a malformed file is an error, never ignored), else `.strict`.
    public init(dataDirectory directory: String, confirm: Confirm? = nil) throws(SecurityError) {
        let path = directory + "/" + Self.policyFileName
        let file = FileManager.default.fileExists(atPath: path) ? try SecurityPolicy.load(path) : (.strict, Self.noFileDigest)
        self.init(policy: file.policy, confirm: confirm)
        fileDigest = file.digest
    }

    /// What `fileDigest` says of a data directory without a policy file.
    public static let noFileDigest = "strict default"

    /// The monitor of a kernel configured without one: it tracks no provenance and allows
    /// every call (owner/group rules and the audit trail still apply).
    public static let open: SecurityMonitor = {
        var monitor = SecurityMonitor.policyOnly()
        monitor.tracksProvenance = false
        return monitor
    }()

    /// The monitor with guards off.
    public static func policyOnly(_ policy: SecurityPolicy = .strict, confirm: Confirm? = nil) -> SecurityMonitor {
        var monitor = SecurityMonitor(policy: policy, confirm: confirm)
        monitor.guards = nil
        return monitor
    }
}

/// A call the policy lets through only if the user says yes.
public struct Confirmation: Sendable, Hashable {
    public var pid: PID
    public var owner: String
    public var call: ToolCall
    /// Why it needs a yes, in the policy engine's words.
    public var reason: String
    /// Each argument, its value and where it came from, for the person asked.
    public var arguments: [ArgumentProvenance]

    public init(pid: PID, owner: String, call: ToolCall, reason: String, arguments: [ArgumentProvenance] = []) {
        self.pid = pid
        self.owner = owner
        self.call = call
        self.reason = reason
        self.arguments = arguments
    }
}

/// How asking a person about a call went.
public enum ConfirmationAnswer: Sendable, Hashable {
    /// They said yes; the text says who (and how: "alice at the terminal").
    case approved(by: String)
    /// They said no.
    case declined(by: String)
    /// No one answered; the text says why ("no one is there to ask", "no answer within 300 s").
    case unanswered(String)
}
