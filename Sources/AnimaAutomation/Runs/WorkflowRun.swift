import AnimaCore
import Foundation

/// Where a run stands.
public enum RunStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Queued; no daemon has taken it yet.
    case pending
    case running
    /// Stopped at an approval step until someone decides.
    case waiting
    case completed
    case failed
    case cancelled

    public var isFinished: Bool { self == .completed || self == .failed || self == .cancelled }
}

/// One run of a workflow, as stored.
public struct WorkflowRun: Sendable, Hashable {
    public var id: String
    public var workflow: String
    public var version: Int
    /// Who it acts as, with the groups it was granted.
    public var owner: Principal
    public var status: RunStatus
    public var inputs: LabeledValue
    public var output: LabeledValue?
    public var error: String?
    /// What started it: manual, cron, webhook, files, completion:RUN, workflow:RUN (a parent).
    public var trigger: String
    public var parent: String?
    public var created: Date
    public var updated: Date
    /// True once someone asked to cancel it.
    public var cancelRequested: Bool

    public var json: JSONValue {
        var o: JSONObject = [
            "id": .string(id), "workflow": .string(workflow), "version": .number(Double(version)), "owner": .string(owner.name),
            "groups": .array(owner.groups.sorted().map(JSONValue.string)), "status": .string(status.rawValue),
            "inputs": inputs.value, "trigger": .string(trigger), "created": .string(Self.iso(created)),
            "updated": .string(Self.iso(updated)),
        ]
        if let output {
            o["output"] = output.value
            o["output_label"] = .string(output.label.description)
        }
        if let error { o["error"] = .string(error) }
        if let parent { o["parent"] = .string(parent) }
        return .object(o)
    }

    /// ISO 8601 with fractions of a second, as runs and history print dates.
    public static func iso(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

/// One step of one run: its latest attempt and result.
public struct StepRecord: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, Codable {
        /// Started and not yet known to have finished: a restart runs it again with the same key.
        case started
        case completed
        case failed
    }

    public var run: String
    /// The step's place in the run: its id, inside loops `loop[2]/id`.
    public var path: String
    public var attempt: Int
    public var status: Status
    /// Sent with the side effect (an `Idempotency-Key` header, `${step.key}`) so a receiver
    /// that sees it twice after a crash acts once.
    public var key: String
    public var output: LabeledValue?
    public var error: String?
    public var started: Date
    public var finished: Date?
}

/// One line of a run's history: what happened, when, to which step.
public struct HistoryEvent: Sendable, Hashable {
    public var sequence: Int64
    public var run: String
    public var at: Date
    public var event: String
    public var path: String?
    public var detail: String

    public var json: JSONValue {
        var o: JSONObject = [
            "sequence": .number(Double(sequence)), "at": .string(WorkflowRun.iso(at)), "event": .string(event), "detail": .string(detail),
        ]
        if let path { o["step"] = .string(path) }
        return .object(o)
    }
}

/// A workflow as added: the file, its owner and, for webhook workflows, the signing secret.
public struct StoredWorkflow: Sendable, Hashable {
    public var workflow: Workflow
    public var owner: Principal
    public var added: Date
    /// Hex HMAC-SHA256 key for its webhook; nil without a webhook trigger.
    public var webhookSecret: String?
}
