import AnimaCore
import AnimaSecurity
import Foundation

/// Workflow runs' lifecycle in the kernel's audit trail, beside the syscalls their steps make.
extension Kernel {
    /// Records a workflow run's lifecycle event (`workflow.run-started`, `workflow.step-completed`,
    /// `workflow.cancel`, ...) in the hash-chained audit trail, as the kernel (pid 1) acting for
    /// `owner`. `content` (a step's output, an approval's prompt) and `failure` are kept only
    /// as keyed digests: the audit log says what happened to which run, never the values.
    /// - Returns: why it could not be recorded, if the trail has failed.
    @discardableResult
    public func recordWorkflowEvent(
        _ event: String, run: String, step: String?, owner: String, content: String? = nil, failure: String? = nil
    ) -> String? {
        if let problem = audit.failure { return problem }
        var summary = "run \(run)"
        if let step { summary += " step \(step)" }
        if let content { summary += ": \(audit.digest.digest(content))" }
        let outcome: AuditRecord.Outcome = failure.map { .failed(audit.digest.digest($0)) } ?? .completed
        audit.note(pid: .kernel, owner: owner, "workflow.\(event)", summary, outcome)
        return nil
    }
}
