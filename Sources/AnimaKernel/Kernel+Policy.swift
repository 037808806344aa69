import AnimaCore
import AnimaSecurity
import Foundation

/// The data-flow policy while the kernel runs: a changed `policy.json` applies to every
/// process from its next check on, without a restart (the daemon watches the file; the
/// console applies an edit at once). A file that does not parse changes nothing.
extension Kernel {
    /// What `reloadPolicy` did.
    public enum PolicyReload: Sendable, Equatable {
        /// The policy now in force; the digest is the file's SHA-256 ("strict default" without a file).
        case applied(digest: String)
        /// The file is the one already in force: nothing changed, nothing was recorded.
        case unchanged
        /// The file was not applied; the policy in force stays. The reason says what to fix.
        case refused(String)
    }

    /// The data-flow policy in force.
    public var policy: SecurityPolicy { security.engine.policy }

    /// Applies the policy in the file at `path` (the strict default when there is none) to
    /// every process from its next check on, and records the change, with the digests of
    /// the old and new files, in the audit trail. A file that cannot be read or parsed is
    /// refused (recorded once, however often it is seen) and the policy in force stays.
    /// The guards' policy changes with it, the guard model put to work when it asks for one.
    /// - Parameter user: who changed it, for the audit trail ("root", or "file" for an edit seen on disk).
    @discardableResult
    public func reloadPolicy(from path: String, by user: String) -> PolicyReload {
        guard security.tracksProvenance else {
            return .refused("this kernel runs without a policy monitor (every call is allowed); restart it with a data directory")
        }
        let text: String?
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch CocoaError.fileReadNoSuchFile, CocoaError.fileNoSuchFile {
            text = nil
        } catch {
            return refuse(path, by: user, "the policy file cannot be read: \(error.localizedDescription)")
        }
        let digest = text.map(SecurityPolicy.digest) ?? SecurityMonitor.noFileDigest
        if digest == policyDigest { return .unchanged }
        if let refused = refusedPolicy, refused.digest == digest { return .refused(refused.reason) }
        var policy = SecurityPolicy.strict
        if let text {
            do { policy = try SecurityPolicy(json: text) } catch {
                let reason = "\(error.description); the policy in force stays until the file parses"
                refusedPolicy = (digest, reason)
                return refuse(path, by: user, reason)
            }
        }
        security.engine.policy = policy
        if security.guards != nil {
            security.guards?.policy = policy.guards
            if security.guards?.classifier == nil || policy.guards.modelDirections.isEmpty {
                security.guards?.classifier = Configuration.guardModel(for: policy.guards, processor: processor)
            }
        }
        let before = policyDigest.map { String($0.prefix(16)) } ?? "the policy loaded at start"
        policyDigest = digest
        refusedPolicy = nil
        audit.note(pid: .kernel, owner: user, "policy-reload", "\(path): from \(before) to \(digest.prefix(16))", .completed)
        return .applied(digest: digest)
    }

    private func refuse(_ path: String, by user: String, _ reason: String) -> PolicyReload {
        audit.note(pid: .kernel, owner: user, "policy-reload", "\(path) was not applied: \(reason)", .denied("invalid"))
        return .refused(reason)
    }
}
