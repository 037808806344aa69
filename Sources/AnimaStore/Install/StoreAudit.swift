import AnimaSecurity
import Foundation

/// Where the store records what it changes and what it refuses: the hash-chained audit
/// log the kernel writes syscalls to, one line per install, update, removal, trust
/// change, grant decision and failed verification, as the user who asked.
///
/// Lines hold names, versions, digests, key hints and permission names; never a key, and
/// never the user or password of a registry URL.
public struct StoreAudit: Sendable {
    public let log: AuditLog
    /// Who asked: the Anima user (root when run as the Unix superuser).
    public let owner: String

    public init(log: AuditLog, owner: String) {
        self.log = log
        self.owner = owner
    }

    /// The audit log of the data directory `directory` (`audit.log`), continuing its chain.
    public init(dataDirectory directory: String, owner: String) throws(StoreError) {
        do {
            log = try AuditLog(dataDirectory: directory)
        } catch {
            throw .audit(error.description)
        }
        self.owner = owner
    }

    /// Appends one line; a line that cannot be written is an error, so the change it
    /// would record is not made.
    func record(_ action: String, _ summary: String, outcome: AuditLine.Outcome = .completed, detail: String = "")
        throws(StoreError)
    {
        do {
            try log.append(pid: 1, owner: owner, action: action, summary: summary, outcome: outcome, detail: detail)
        } catch {
            throw .audit(error.description)
        }
    }

    /// Records why `package` was refused: a failed verification, a downgrade, a grant
    /// the user did not give, or another install failure. Best effort: the refusal is
    /// reported to the caller either way.
    func refused(_ package: String, _ error: StoreError) {
        let (action, outcome): (String, AuditLine.Outcome) =
            switch error {
            case .downgrade, .notInstalled, .dependency: ("store.install", .denied)
            case .notGranted: ("store.grant", .denied)
            case .symlink, .bundle, .wrongKey, .badSignature, .fileChanged, .extraFile, .missingFile, .templateMismatch,
                .unknownPublisher, .keyExpired, .keyRevoked, .roleNotTrusted, .trustRoot:
                ("store.verify", .failed)
            default: ("store.install", .failed)
            }
        try? record(action, package, outcome: outcome, detail: error.description)
    }

    /// A registry's location fit for the log: an URL without its user, password, query or fragment.
    static func location(_ source: String) -> String {
        guard var parts = URLComponents(string: source), parts.scheme != nil, parts.host != nil else { return source }
        parts.user = nil
        parts.password = nil
        parts.query = nil
        parts.fragment = nil
        return parts.string ?? source
    }
}
