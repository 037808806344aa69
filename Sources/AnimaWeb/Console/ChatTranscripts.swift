import AnimaCore
import AnimaKernel
import Foundation
import Synchronization

/// The conversations started from the console, as the kernel reports them: the owner's
/// turns, the agent's text as it streams, each tool call with the policy's decision
/// (allowed, denied with its reason, or waiting for an answer) and the provenance of what
/// came back. Kept in memory, bounded; the kernel's audit log is the durable record.
public actor ChatTranscripts {
    /// One line of a conversation.
    public struct Entry: Sendable, Equatable {
        public enum Kind: String, Sendable {
            case user, assistant, toolCall = "tool-call", toolResult = "tool-result", denied, approval, settled, exit
        }
        public var kind: Kind
        public var text: String
        /// The tool's name, the policy's decision or the result's provenance.
        public var detail: String
    }

    static let maxEntries = 400
    static let maxConversations = 64
    static let maxTextBytes = 64 * 1024

    private var entries: [PID: [Entry]] = [:]
    private var order: [PID] = []
    private var versions: [PID: Int] = [:]
    /// The processes watched, read by the kernel for each event: it sends no others (an API
    /// request's process costs the console nothing).
    private nonisolated let watched = Watched()
    private var listener: Task<Void, Never>?

    public init() {}

    /// Starts recording the kernel's events for watched conversations.
    public func listen(to kernel: Kernel) async {
        guard listener == nil else { return }
        let watched = watched
        let events = await kernel.events(following: { pid in watched.pids.withLock { $0.contains(pid) } })
        listener = Task { [weak self] in
            for await event in events { await self?.record(event) }
        }
    }

    /// Records the conversations of `pid` from now on, beginning with its owner's first words;
    /// nothing if it is watched already. Call it before the agent's first step
    /// (`Kernel.spawn`'s `beforeRunning`): what the process said before is not recorded.
    public func watch(_ pid: PID, firstTurn: String) {
        guard entries[pid] == nil else { return }
        order.append(pid)
        while order.count > Self.maxConversations { forget(order.removeFirst()) }
        entries[pid] = [Entry(kind: .user, text: firstTurn, detail: "")]
        versions[pid, default: 0] += 1
        watched.pids.withLock { _ = $0.insert(pid) }
    }

    private func forget(_ pid: PID) {
        entries[pid] = nil
        watched.pids.withLock { _ = $0.remove(pid) }
    }

    public func isWatched(_ pid: PID) -> Bool { entries[pid] != nil }

    /// Adds the owner's next turn.
    public func said(_ text: String, to pid: PID) { append(pid, Entry(kind: .user, text: text, detail: "")) }

    public func transcript(_ pid: PID) -> [Entry] { entries[pid] ?? [] }

    /// Grows with every change to the conversation, for the live view.
    public func version(_ pid: PID) -> Int { versions[pid] ?? -1 }

    func record(_ event: KernelEvent) {
        switch event {
        case .text(let pid, let text):
            guard var list = entries[pid] else { return }
            if let last = list.last, last.kind == .assistant {
                if last.text.utf8.count < Self.maxTextBytes { list[list.count - 1].text += text }
                entries[pid] = list
                versions[pid, default: 0] += 1
            } else {
                append(pid, Entry(kind: .assistant, text: text, detail: ""))
            }
        case .toolCall(let pid, let call):
            append(pid, Entry(kind: .toolCall, text: Self.clip(call.arguments.jsonText), detail: call.name))
        case .toolResult(let pid, let output):
            let provenance = output.label.map { "from \($0.description)\($0.isTrusted ? "" : " (untrusted)")" } ?? "unlabelled"
            append(pid, Entry(kind: .toolResult, text: Self.clip(output.text), detail: (output.isError ? "error, " : "") + provenance))
        case .toolDenied(let pid, let call, let reason):
            append(pid, Entry(kind: .denied, text: reason, detail: call.name))
        case .approvalRequested(let pid, let request):
            let sources = request.arguments.map { "\($0.path) from \($0.sources.joined(separator: ", "))\($0.isTrusted ? "" : " (untrusted)")" }
            append(pid, Entry(kind: .approval, text: request.reason, detail: "\(request.tool): " + sources.joined(separator: "; ")))
        case .approvalSettled(let pid, _, let approved):
            append(pid, Entry(kind: .settled, text: approved ? "approved" : "declined or unanswered", detail: ""))
        case .turnEnded(let pid, _):
            versions[pid].map { versions[pid] = $0 + 1 }
        case .exited(let pid, let status):
            append(pid, Entry(kind: .exit, text: "\(status)", detail: ""))
        case .spawned, .stateChanged:
            break
        }
    }

    private func append(_ pid: PID, _ entry: Entry) {
        guard var list = entries[pid] else { return }
        list.append(entry)
        if list.count > Self.maxEntries { list.removeFirst(list.count - Self.maxEntries) }
        entries[pid] = list
        versions[pid, default: 0] += 1
    }

    private final class Watched: Sendable {
        let pids = Mutex<Set<PID>>([])
    }

    static func clip(_ text: String) -> String {
        text.utf8.count <= 4000 ? text : String(text.prefix(4000)) + " …"
    }
}
