import AnimaCore
import Foundation

/// What starts a workflow besides a manual run.
public enum WorkflowTrigger: Sendable, Hashable {
    /// A cron schedule (five fields) in a time zone (IANA name; UTC when absent).
    case cron(CronSchedule, timeZone: String)
    /// POST /v1/workflows/NAME/webhook, signed with HMAC-SHA256 over the body by a secret the
    /// daemon keeps (`anima workflow add` prints it once).
    case webhook
    /// A file created, changed or moved into a directory (inotify, not recursive).
    case files(directory: String)
    /// Another workflow's run finished with this status (`completed` when absent).
    case completion(workflow: String, status: String)
    /// A resource of a configured MCP server changed (`resources/subscribe`, then each
    /// `notifications/resources/updated` for `uri` starts a run).
    case resource(server: String, uri: String)
    case manual

    public var name: String {
        switch self {
        case .cron: "cron"
        case .webhook: "webhook"
        case .files: "files"
        case .completion: "completion"
        case .resource: "mcp_resource"
        case .manual: "manual"
        }
    }
}
