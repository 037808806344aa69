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
    /// Nothing generates until the caller starts the processor, so a client can watch the
    /// agent before it asks.
    static func kernelAndProcessor(_ effects: SideEffects, audit: MemoryAuditTrail, timeout: Duration) -> (
        kernel: Kernel, processor: ScriptedProcessor
    ) {
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
        return (Kernel(configuration), processor)
    }

    static func spec() -> AgentSpec { AgentSpec(task: "Answer my latest email", tools: ["read_inbox", "send_email"]) }

    /// One kernel of the fixture with what it recorded.
    struct Setup {
        let effects = SideEffects()
        let audit = MemoryAuditTrail()
        let kernel: Kernel
        let processor: ScriptedProcessor

        init(timeout: Duration = .seconds(300)) {
            (kernel, processor) = ApprovalTests.kernelAndProcessor(effects, audit: audit, timeout: timeout)
        }

        /// Spawns the fixture's agent; with `watched`, a client watches it (the API's stream)
        /// before it takes its first step.
        func spawn(watched: Bool = false) async throws -> PID {
            let pid = try await kernel.spawn(ApprovalTests.spec(), owner: dana)
            if watched { await kernel.approvals.watch(pid) }
            processor.startStepping()
            return pid
        }
    }

    /// The first question about `pid` on `events`.
    static func firstQuestion(_ events: AsyncStream<KernelEvent>, about pid: PID) async -> ApprovalRequest? {
        for await event in events {
            if case .approvalRequested(let p, let request) = event, p == pid { return request }
        }
        return nil
    }

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
            let setup = Setup()
            let questions = Mutex<[ApprovalRequest]>([])
            await setup.kernel.approvals.setConsole({ request in
                questions.withLock { $0.append(request) }
                return yes
            })
            let pid = try await setup.spawn()
            let answer = Self.answer(try await setup.kernel.wait(pid))
            #expect(setup.effects.all.isEmpty == !yes)
            #expect(yes ? answer.hasSuffix("sent") : answer.contains("dana at the terminal declined"), "\(answer)")
            let question = try #require(questions.withLock { $0.first })
            #expect(question.tool == "send_email" && question.owner == "dana")
            #expect(question.arguments.first { $0.path == "to" }?.sources == ["email", "tool:read_inbox"])
            // The question shows each value, quoted so a hostile one cannot drive the terminal.
            #expect(
                question.question.contains("\"to\" = \"\(Self.secret)\"   from email, tool:read_inbox (untrusted)"), "\(question.question)")
            #expect(!question.question.contains("\u{1B}") && question.question.contains("\\u001b[2J"), "\(question.question)")
            Self.checkAudit(setup.audit, contains: yes ? "approved by dana at the terminal" : "declined by dana at the terminal")
        }
    }

    @Test func withNoOneToAskTheCallIsDeniedWithTheReason() async throws {
        let setup = Setup()
        let answer = Self.answer(try await setup.kernel.wait(try await setup.spawn()))
        #expect(setup.effects.all.isEmpty)
        #expect(answer.contains("no one is there to ask"), "\(answer)")
        Self.checkAudit(setup.audit, contains: "unanswered")
    }

    @Test func aClientWatchingTheAgentAnswersOnlyForItsOwner() async throws {
        let setup = Setup()
        let kernel = setup.kernel
        let events = await kernel.events()
        let pid = try await setup.spawn(watched: true)
        let asked = try #require(await Self.firstQuestion(events, about: pid))
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
        #expect(setup.effects.all.count == 1)
        Self.checkAudit(setup.audit, contains: "approved by dana over the API")
    }

    /// A client registered by `spawn`'s `beforeRunning` hears the first question even when
    /// the processor is already stepping and the client is slow to register (the console's
    /// chat and the API's stream register this way).
    @Test func aClientRegisteredBeforeTheFirstStepIsAsked() async throws {
        let setup = Setup()
        let kernel = setup.kernel
        setup.processor.startStepping()
        let events = await kernel.events()
        let pid = try await kernel.spawn(Self.spec(), owner: dana) { pid in
            try? await Task.sleep(for: .milliseconds(50))
            await kernel.approvals.watch(pid)
        }
        let asked = try #require(await Self.firstQuestion(events, about: pid))
        #expect(await kernel.approvals.pending(for: pid).map(\.id) == [asked.id])
        try await kernel.approvals.answer(asked.id, about: pid, approve: true, by: dana)
        #expect(Self.answer(try await kernel.wait(pid)).hasSuffix("sent"))
        #expect(setup.effects.all.count == 1)
    }

    /// The timeout is the kernel's configuration (`--approval-timeout`, `approval_timeout`).
    @Test func aQuestionNoOneAnswersInTimeIsDenied() async throws {
        let setup = Setup(timeout: .milliseconds(300))
        let started = ContinuousClock.now
        let pid = try await setup.spawn(watched: true)
        let answer = Self.answer(try await setup.kernel.wait(pid))
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(setup.effects.all.isEmpty)
        #expect(answer.contains("no answer came within 0.3 seconds"), "\(answer)")
        #expect(await setup.kernel.approvals.pending(for: pid).isEmpty)
    }

    @Test func aClientThatLeavesWhileAskedIsADenial() async throws {
        let setup = Setup()
        let events = await setup.kernel.events()
        let pid = try await setup.spawn(watched: true)
        _ = await Self.firstQuestion(events, about: pid)
        await setup.kernel.approvals.unwatch(pid)
        let answer = Self.answer(try await setup.kernel.wait(pid))
        #expect(setup.effects.all.isEmpty)
        #expect(answer.contains("went away"), "\(answer)")
    }

    /// A process that ends withdraws its questions at once, whoever was asked (a console
    /// that never answers, or clients watching), denied and audited with the reason;
    /// an answer that comes later is refused.
    @Test(arguments: [false, true])
    func aProcessThatEndsWithdrawsItsQuestionsAtOnce(watched: Bool) async throws {
        let setup = Setup()  // five minutes to answer: the withdrawal must not wait for them
        let kernel = setup.kernel
        if !watched {
            await kernel.approvals.setConsole({ _ in
                try? await Task.sleep(for: .seconds(3600))  // a person who never answers
                return true
            })
        }
        let events = await kernel.events()
        let pid = try await setup.spawn(watched: watched)
        let asked = try #require(await Self.firstQuestion(events, about: pid))
        let killed = ContinuousClock.now
        try await kernel.signal(pid, .terminate, from: dana)
        #expect(try await kernel.wait(pid) == .killed)
        var settled = false
        for _ in 0..<200 where !settled {
            settled = setup.audit.records.contains { $0.syscall == "approval" }
            if !settled { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(ContinuousClock.now - killed < .seconds(5))
        #expect(await kernel.approvals.pending(for: pid).isEmpty)
        let note = setup.audit.records.first { $0.syscall == "approval" }?.summary ?? ""
        #expect(note.contains("unanswered") && note.contains("the agent ended (killed) before anyone answered"), "\(note)")
        await #expect(throws: ApprovalError.self) { try await kernel.approvals.answer(asked.id, about: pid, approve: true, by: dana) }
        #expect(setup.effects.all.isEmpty)
    }
}
