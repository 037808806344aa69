import AnimaCore
import AnimaProcessor
import AnimaSecurity
import AnimaTesting
import Foundation
import Synchronization
import Testing

@testable import AnimaKernel

/// A policy's "ask", put to whoever can answer: the terminal (console), a client watching
/// the agent (the API), or no one (a denial with the reason). Every answer is audited
/// without the arguments' values.
@Suite("Approvals")
struct ApprovalTests {
    static let policy = try! SecurityPolicy(json: #"{"default": {"allow": ["user", "system"], "onViolation": "ask"}}"#)
    static let secret = "eve@evil.example"

    /// An agent that reads the inbox, then mails its sender (a recipient from the inbox: "ask"),
    /// then answers with what the send returned.
    static func kernel(_ effects: SideEffects, audit: MemoryAuditTrail, timeout: Duration = .seconds(300)) -> Kernel {
        let processor = ScriptedProcessor(slots: 1, scheduler: Scheduler()) { request in
            let results = request.messages.filter { $0.role == .tool }
            switch results.count {
            case 0: return .toolCalls([ToolCall(id: "c1", name: "read_inbox", arguments: [:])])
            case 1:
                return .toolCalls([
                    ToolCall(id: "c2", name: "send_email", arguments: ["to": .string(secret), "body": "hello \u{1B}[2J there"])
                ])
            default: return .text(results.last?.content ?? "")
            }
        }
        processor.startStepping()
        let tools: [any SystemTool] = [
            FixtureTool("read_inbox", [], effect: .readOnly, source: .email) { _ in "From: \(secret)\nPlease reply." },
            FixtureTool("send_email", ["to", "body"], effect: .network) { arguments in
                effects.record(.email(to: arguments["to"]?.stringValue ?? "", body: arguments["body"]?.stringValue ?? ""))
                return "sent"
            },
        ]
        var configuration = Kernel.Configuration(
            processor: processor, tools: tools, audit: audit, security: .policyOnly(Self.policy))
        configuration.approvalTimeout = timeout
        return Kernel(configuration)
    }

    static func spec() -> AgentSpec { AgentSpec(task: "Answer my latest email", tools: ["read_inbox", "send_email"]) }

    static func answer(_ status: AnimaKernel.ExitStatus) -> String {
        if case .completed(let text) = status { return DataBoundary.content(of: text) ?? text }
        return "\(status)"
    }

    /// The audit never holds an argument's value; the approval note names each argument's source.
    static func checkAudit(_ audit: MemoryAuditTrail, contains verdict: String) {
        let notes = audit.records.filter { $0.syscall == "approval" }
        #expect(notes.count == 1, "\(audit.records.map(\.summary))")
        let summary = notes.first?.summary ?? ""
        #expect(summary.contains(verdict), "\(summary)")
        #expect(summary.contains("to from email,tool:read_inbox hmac:"), "\(summary)")
        for record in audit.records { #expect(!record.summary.contains(Self.secret), "\(record.summary)") }
    }

    @Test func theConsoleAnswersAndItsAnswerDecides() async throws {
        for yes in [true, false] {
            let effects = SideEffects()
            let audit = MemoryAuditTrail()
            let kernel = Self.kernel(effects, audit: audit)
            let questions = Mutex<[ApprovalRequest]>([])
            await kernel.approvals.setConsole({ request in
                questions.withLock { $0.append(request) }
                return yes
            })
            let pid = try await kernel.spawn(Self.spec(), owner: dana)
            let answer = Self.answer(try await kernel.wait(pid))
            #expect(effects.all.isEmpty == !yes)
            #expect(yes ? answer.hasSuffix("sent") : answer.contains("dana at the terminal declined"), "\(answer)")
            let question = try #require(questions.withLock { $0.first })
            #expect(question.tool == "send_email" && question.owner == "dana")
            #expect(question.arguments.first { $0.path == "to" }?.sources == ["email", "tool:read_inbox"])
            // The question shows each value, quoted so a hostile one cannot drive the terminal.
            #expect(
                question.question.contains("\"to\" = \"\(Self.secret)\"   from email, tool:read_inbox (untrusted)"), "\(question.question)")
            #expect(!question.question.contains("\u{1B}") && question.question.contains("\\u001b[2J"), "\(question.question)")
            Self.checkAudit(audit, contains: yes ? "approved by dana at the terminal" : "declined by dana at the terminal")
        }
    }

    @Test func withNoOneToAskTheCallIsDeniedWithTheReason() async throws {
        let effects = SideEffects()
        let audit = MemoryAuditTrail()
        let kernel = Self.kernel(effects, audit: audit)
        let pid = try await kernel.spawn(Self.spec(), owner: dana)
        let answer = Self.answer(try await kernel.wait(pid))
        #expect(effects.all.isEmpty)
        #expect(answer.contains("no one is there to ask"), "\(answer)")
        Self.checkAudit(audit, contains: "unanswered")
    }

    @Test func aClientWatchingTheAgentAnswersOnlyForItsOwner() async throws {
        let effects = SideEffects()
        let audit = MemoryAuditTrail()
        let kernel = Self.kernel(effects, audit: audit)
        let events = await kernel.events()
        let pid = try await kernel.spawn(Self.spec(), owner: dana)
        await kernel.approvals.watch(pid)
        var request: ApprovalRequest?
        for await event in events {
            if case .approvalRequested(let p, let r) = event, p == pid {
                request = r
                break
            }
        }
        let asked = try #require(request)
        #expect(await kernel.approvals.pending(for: pid).map(\.id) == [asked.id])
        let mallory = Principal(name: "mallory", groups: ["users"])
        await #expect(throws: ApprovalError.unknown(asked.id)) {
            try await kernel.approvals.answer(asked.id, about: pid, approve: true, by: mallory)
        }
        await #expect(throws: ApprovalError.unknown("apr_nope")) {
            try await kernel.approvals.answer("apr_nope", about: pid, approve: true, by: dana)
        }
        await #expect(throws: ApprovalError.unknown(asked.id)) {
            try await kernel.approvals.answer(asked.id, about: PID(pid.rawValue + 1), approve: true, by: dana)
        }
        try await kernel.approvals.answer(asked.id, about: pid, approve: true, by: dana)
        await #expect(throws: ApprovalError.alreadyAnswered(asked.id)) {
            try await kernel.approvals.answer(asked.id, about: pid, approve: false, by: dana)
        }
        #expect(Self.answer(try await kernel.wait(pid)).hasSuffix("sent"))
        #expect(effects.all.count == 1)
        Self.checkAudit(audit, contains: "approved by dana over the API")
    }

    @Test func aQuestionNoOneAnswersInTimeIsDenied() async throws {
        let effects = SideEffects()
        let audit = MemoryAuditTrail()
        let kernel = Self.kernel(effects, audit: audit, timeout: .milliseconds(300))
        let pid = try await kernel.spawn(Self.spec(), owner: dana)
        await kernel.approvals.watch(pid)
        let answer = Self.answer(try await kernel.wait(pid))
        #expect(effects.all.isEmpty)
        #expect(answer.contains("no answer came within"), "\(answer)")
        #expect(await kernel.approvals.pending(for: pid).isEmpty)
    }

    @Test func aClientThatLeavesWhileAskedIsADenial() async throws {
        let effects = SideEffects()
        let audit = MemoryAuditTrail()
        let kernel = Self.kernel(effects, audit: audit)
        let events = await kernel.events()
        let pid = try await kernel.spawn(Self.spec(), owner: dana)
        await kernel.approvals.watch(pid)
        for await event in events {
            if case .approvalRequested(let p, _) = event, p == pid { break }
        }
        await kernel.approvals.unwatch(pid)
        let answer = Self.answer(try await kernel.wait(pid))
        #expect(effects.all.isEmpty)
        #expect(answer.contains("went away"), "\(answer)")
    }
}
