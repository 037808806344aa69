import AnimaCore
import AnimaSecurity
import Foundation

/// Who can answer the kernel's questions about tool calls, and the questions waiting.
///
/// A question goes to the process's own approver (an MCP client, by elicitation), else to
/// the console (the terminal of `anima run`), else to the clients watching the process's
/// event stream, who answer with `answer(_:approve:by:)` (the native API's approve/deny
/// route). With none of them, or no answer within `timeout`, the call is denied with the
/// reason; a process that ends (its program returns, a kill, a quota) has its questions
/// withdrawn at once, denied with that reason. Every question and answer is audited by
/// the kernel, values as keyed digests.
public actor Approvals {
    /// Asks a person; nil when it could not (no terminal, a client without elicitation).
    public typealias Approver = @Sendable (ApprovalRequest) async -> Bool?

    private struct Waiting {
        let request: ApprovalRequest
        let outcome: OneOutcome
    }

    /// How long a question waits for its answer.
    public let timeout: Duration
    private var console: Approver?
    private var consoleName = "the terminal"
    private var approvers: [PID: (Approver, String)] = [:]
    private var watchers: [PID: Int] = [:]
    private var waiting: [String: Waiting] = [:]
    /// Every question out, whoever was asked, so a process that ends withdraws its own.
    private var asking: [String: (pid: PID, outcome: OneOutcome)] = [:]
    /// Processes that ended (bounded), so a question that races with the end is not put at all.
    private var ended: [PID: String] = [:]
    private var endedOrder = RecentQueue<PID>(capacity: 4096)
    /// Recently answered ids, so a second answer is told so (bounded).
    private var answered: [String] = []
    private let hooks = Hooks()

    public init(timeout: Duration = .seconds(300)) {
        self.timeout = timeout
    }

    /// What the kernel does when a question is put and when it is settled.
    final class Hooks: @unchecked Sendable {
        private let lock = NSLock()
        private var asked: (@Sendable (ApprovalRequest) async -> Void)?
        private var settled: (@Sendable (ApprovalRequest, ConfirmationAnswer, String) async -> Void)?

        func set(
            asked: @escaping @Sendable (ApprovalRequest) async -> Void,
            settled: @escaping @Sendable (ApprovalRequest, ConfirmationAnswer, String) async -> Void
        ) {
            lock.withLock {
                self.asked = asked
                self.settled = settled
            }
        }

        var current:
            ((@Sendable (ApprovalRequest) async -> Void)?, (@Sendable (ApprovalRequest, ConfirmationAnswer, String) async -> Void)?)
        {
            lock.withLock { (asked, settled) }
        }
    }

    /// Called once by the kernel that owns this desk.
    nonisolated func bind(
        asked: @escaping @Sendable (ApprovalRequest) async -> Void,
        settled: @escaping @Sendable (ApprovalRequest, ConfirmationAnswer, String) async -> Void
    ) {
        hooks.set(asked: asked, settled: settled)
    }

    /// Sets who answers for every process without an approver of its own (nil: no one).
    /// - Parameter name: how the audit names the channel ("the terminal").
    public func setConsole(_ approver: Approver?, name: String = "the terminal") {
        console = approver
        consoleName = name
    }

    /// `approver` answers for `pid` until `detach`.
    public func attach(_ approver: @escaping Approver, to pid: PID, name: String) {
        approvers[pid] = (approver, name)
    }

    public func detach(_ pid: PID) { approvers[pid] = nil }

    /// A client now watches `pid`'s events and can answer its questions.
    public func watch(_ pid: PID) {
        guard ended[pid] == nil else { return }
        watchers[pid, default: 0] += 1
    }

    /// A client stopped watching; when none is left, questions waiting on them are denied.
    public func unwatch(_ pid: PID) {
        let left = max(0, watchers[pid, default: 0] - 1)
        watchers[pid] = left == 0 ? nil : left
        guard left == 0 else { return }
        for (id, entry) in waiting where entry.request.pid == pid {
            entry.outcome.finish(.unanswered("the client that was asked went away before it answered"))
            settle(id)
        }
    }

    /// Withdraws every question about `pid` (its process ended): each is denied with `reason`.
    public func withdraw(_ pid: PID, because reason: String) {
        ended[pid] = reason
        watchers[pid] = nil
        if let forgotten = endedOrder.append(pid) { ended[forgotten] = nil }
        for (id, entry) in asking where entry.pid == pid {
            entry.outcome.finish(.unanswered(reason))
            asking[id] = nil
        }
        for (id, entry) in waiting where entry.request.pid == pid {
            entry.outcome.finish(.unanswered(reason))
            settle(id)
        }
    }

    /// The questions waiting for an answer about `pid`.
    public func pending(for pid: PID) -> [ApprovalRequest] {
        waiting.values.map(\.request).filter { $0.pid == pid }.sorted { $0.id < $1.id }
    }

    /// Answers question `id` about `pid` for `principal`, who must own the agent or be root.
    /// A question about another user's agent is `unknown`, as if it did not exist.
    public func answer(_ id: String, about pid: PID, approve: Bool, by principal: Principal) throws(ApprovalError) {
        guard let entry = waiting[id], entry.request.pid == pid, principal.isRoot || principal.name == entry.request.owner else {
            if answered.contains(id) { throw .alreadyAnswered(id) }
            throw .unknown(id)
        }
        let who = "\(principal.name) over the API"
        entry.outcome.finish(approve ? .approved(by: who) : .declined(by: who))
        settle(id)
    }

    private func settle(_ id: String) {
        waiting[id] = nil
        answered.append(id)
        if answered.count > 4096 { answered.removeFirst(answered.count - 4096) }
    }

    /// Puts `confirmation` to whoever can answer for its process, and audits the answer.
    func ask(_ confirmation: Confirmation) async -> ConfirmationAnswer {
        let request = ApprovalRequest(
            id: "apr_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased(), confirmation: confirmation)
        let (answer, channel) = await route(request)
        await hooks.current.1?(request, answer, channel)
        return answer
    }

    /// Tells the kernel's observers (the agent's event streams) the question is out.
    private func announce(_ request: ApprovalRequest) async {
        await hooks.current.0?(request)
    }

    private func route(_ request: ApprovalRequest) async -> (ConfirmationAnswer, String) {
        if let reason = ended[request.pid] { return (.unanswered(reason), "nobody") }
        if let (approver, name) = approvers[request.pid] ?? console.map({ ($0, consoleName) }) {
            await announce(request)
            let outcome = OneOutcome()
            asking[request.id] = (request.pid, outcome)
            defer { asking[request.id] = nil }
            let timer = Task { [timeout] in
                try? await Task.sleep(for: timeout)
                outcome.finish(.unanswered("no answer came within \(Self.seconds(timeout))"))
            }
            Task {
                switch await approver(request) {
                case true?: outcome.finish(.approved(by: "\(request.owner) at \(name)"))
                case false?: outcome.finish(.declined(by: "\(request.owner) at \(name)"))
                case nil: outcome.finish(.unanswered("\(name) could not ask anyone"))
                }
            }
            let answer = await outcome.value
            timer.cancel()
            if case .unanswered(let why) = answer, why.hasPrefix(Self.endedPrefix) { return (answer, name) }
            // An approver that could not ask leaves the question to clients watching the agent.
            if case .unanswered = answer, watchers[request.pid, default: 0] > 0 {
                return await waitForClients(request, announced: true)
            }
            return (answer, name)
        }
        if watchers[request.pid, default: 0] > 0 { return await waitForClients(request, announced: false) }
        await announce(request)
        return (
            .unanswered(
                "no one is there to ask (no terminal, no MCP client that takes questions, no client watching the agent's events)"),
            "nobody"
        )
    }

    private func waitForClients(_ request: ApprovalRequest, announced: Bool) async -> (ConfirmationAnswer, String) {
        let outcome = OneOutcome()
        // Registered before it is announced, so a client that answers at once is heard.
        waiting[request.id] = Waiting(request: request, outcome: outcome)
        asking[request.id] = (request.pid, outcome)
        defer { asking[request.id] = nil }
        if !announced { await announce(request) }
        let id = request.id
        let timer = Task { [timeout, weak self] in
            try? await Task.sleep(for: timeout)
            outcome.finish(.unanswered("no answer came within \(Self.seconds(timeout))"))
            await self?.expire(id)
        }
        let answer = await outcome.value
        timer.cancel()
        return (answer, "the API")
    }

    /// How a withdrawal's reason starts, so a withdrawn question is not passed on to clients.
    static let endedPrefix = "the agent ended"

    /// "300 seconds", "1.5 seconds".
    static func seconds(_ d: Duration) -> String {
        let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        return (s.rounded() == s ? String(Int64(s)) : String(s)) + (s == 1 ? " second" : " seconds")
    }

    private func expire(_ id: String) {
        if waiting[id] != nil { settle(id) }
    }
}

/// The first of several outcomes; later ones are ignored.
final class OneOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var result: ConfirmationAnswer?
    private var waiter: CheckedContinuation<ConfirmationAnswer, Never>?

    func finish(_ answer: ConfirmationAnswer) {
        let resume = lock.withLock { () -> CheckedContinuation<ConfirmationAnswer, Never>? in
            guard result == nil else { return nil }
            result = answer
            defer { waiter = nil }
            return waiter
        }
        resume?.resume(returning: answer)
    }

    var value: ConfirmationAnswer {
        get async {
            await withCheckedContinuation { continuation in
                let ready = lock.withLock { () -> ConfirmationAnswer? in
                    if let result { return result }
                    waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}
