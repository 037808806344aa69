import AnimaCore
import AnimaKernel
import Foundation

/// A conversation with tools (`anima chat --tools`): one agent process for the whole
/// conversation, spawned by the kernel like `anima run`'s agents (the same policy,
/// provenance, action set and approvals), each line the user types a turn of it.
///
/// Tool calls are shown as they happen with the policy's decision (`→` ran, `✗` denied
/// with the reason); a call that needs a yes is asked at the terminal (see
/// `TerminalApprover`), or denied when there is none. Answers that repeat untrusted text
/// show it marked. `/reset` ends the agent (the next line starts a new one), `/exit` or
/// end of input ends the conversation.
package struct ToolChat {
    package let kernel: Kernel
    /// The agent to start; its task is the first line, and it is a conversation.
    package var spec: AgentSpec
    package var owner: Principal
    /// Whether a person types at standard input: a prompt is shown.
    package var interactive: Bool

    package init(kernel: Kernel, spec: AgentSpec, owner: Principal, interactive: Bool) {
        self.kernel = kernel
        self.spec = spec
        self.owner = owner
        self.interactive = interactive
    }

    /// Reads turns with `readLine` until it returns nil or the user leaves.
    /// - Returns: false when the last agent failed (the command's exit status says so).
    package func run(readLine: () -> String?) async throws -> Bool {
        let events = await kernel.events()
        let (ends, ended) = AsyncStream<(PID, ExitStatus?)>.makeStream()
        let printer = Task {
            for await event in events { Self.show(event, ended) }
        }
        defer { printer.cancel() }
        var turns = ends.makeAsyncIterator()
        var pid: PID?
        var healthy = true
        while true {
            if interactive { Terminal.write("\n> ") }
            guard let line = readLine() else { break }
            let input = line.trimmingCharacters(in: .whitespaces)
            if input.isEmpty { continue }
            if input == "/exit" || input == "/quit" { break }
            if input == "/reset" {
                if let current = pid { await end(current) }
                pid = nil
                Terminal.write("(conversation cleared: the next line starts a new agent)\n")
                continue
            }
            let current: PID
            if let pid {
                current = pid
                try await kernel.tell(current, input, as: owner)
            } else {
                var spec = spec
                spec.task = input
                spec.conversation = true
                current = try await kernel.spawn(spec, owner: owner)
                pid = current
                Terminal.error("(agent \(current) holds this conversation; tools: \(spec.tools.joined(separator: ", ")))\n")
            }
            // Wait for this agent's turn to end (or the agent to).
            while let next = await turns.next() {
                let (who, exit) = next
                guard who == current else { continue }
                if let exit {
                    pid = nil
                    if case .completed = exit {} else { healthy = false }
                    Terminal.write("\n(agent \(current) exited: \(exit); the next line starts a new agent)\n")
                }
                break
            }
        }
        if let pid { await end(pid) }
        try? await Task.sleep(for: .milliseconds(50))  // let the printer drain
        return healthy
    }

    /// Terminates agent `pid` and waits for it.
    func end(_ pid: PID) async {
        try? await kernel.signal(pid, .terminate, from: owner)
        _ = try? await kernel.wait(pid)
    }

    /// Prints one event; tells `ended` when a turn or an agent ends.
    static func show(_ event: KernelEvent, _ ended: AsyncStream<(PID, ExitStatus?)>.Continuation) {
        switch event {
        case .text(_, let text): Terminal.write(text)
        case .toolCall(_, let call): Terminal.write("\n→ \(call.name) \(call.arguments.jsonText)   (allowed)\n")
        case .toolResult(_, let output): Terminal.write("← \(output.text.prefix(200))\n")
        case .toolDenied(_, let call, let reason): Terminal.write("\n✗ \(call.name) \(call.arguments.jsonText)   denied: \(reason)\n")
        case .approvalSettled(_, _, let approved): Terminal.write(approved ? "(you allowed the call)\n" : "(the call was not allowed)\n")
        case .turnEnded(let pid, let answer):
            Terminal.write("\n")
            if answer.contains(AnswerMarks.open) {
                Terminal.write("warning: this answer repeats text from untrusted sources, marked ⟦untrusted from SOURCE⟧...⟦/untrusted⟧\n")
            }
            ended.yield((pid, nil))
        case .exited(let pid, let status): ended.yield((pid, status))
        case .spawned, .stateChanged, .approvalRequested: break
        }
    }
}

/// How the kernel marks untrusted text in answers (see AnimaSecurity's `AnswerMarking`).
package enum AnswerMarks {
    package static let open = "⟦untrusted from "
}
