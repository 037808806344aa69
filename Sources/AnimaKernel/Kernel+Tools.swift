import AnimaCore
import AnimaMemory
import AnimaProcessor
import AnimaSecurity
import Foundation

/// Tool calls: screened by the security monitor before they run, labelled after.
extension Kernel {
    func callTool(_ call: ToolCall, for process: ProcessRecord) async throws -> ToolOutput {
        if let pager = process.pager, MemoryFunctions.names.contains(call.name) {
            return try await callMemoryFunction(call, on: pager, for: process)
        }
        guard let tool = tools[call.name] else { throw SyscallError.unknownTool(call.name) }
        if let limit = process.quotas.toolCalls, process.usage.toolCalls >= limit {
            terminate(process.pid, status: .quotaExceeded("tool calls (\(limit))"))
            throw SyscallError.quotaExceeded("tool calls (\(limit))")
        }
        let violations = tool.definition.parameters.violations(of: call.arguments)
        guard violations.isEmpty else {
            throw SyscallError.invalidArguments(violations.map(\.description).joined(separator: "; "))
        }
        process.usage.toolCalls += 1
        emit(.toolCall(process.pid, call))
        let creds = credentials(process)
        var output = try await blocked(process, on: "tool \(call.name)") { try await tool.run(call.arguments, for: creds) }
        // A file or memory a process reads is its owner's: only they may read it (see PolicyEngine).
        let owned = tool.outputSource == .file || tool.outputSource == .memory
        let label = ProvenanceLabel(sources: [tool.outputSource, .tool(call.name)], readers: owned ? [process.owner.name] : nil)
        output.label = label
        takeIn(label, process)
        let screened = await security.screenInput(output.text, from: call.name, pid: process.pid, owner: process.owner.name)
        output.text = screened.text
        if let note = screened.note { recordEvent(process, note) }
        security.observe(toolOutput: output.text, label: label, in: &process.provenance)
        emit(.toolResult(process.pid, output))
        return output
    }

    /// Calls a process's model chose with no footing in its conversation, which its agent
    /// dropped (`CallGrounding`): denied, as the user and the audit trail see them.
    func noteUngrounded(_ calls: [ToolCall], for pid: PID) {
        guard let process = table[pid] else { return }
        for call in calls {
            emit(.toolDenied(pid, call, reason: Self.ungrounded))
            recordAudit(pid: pid, owner: process.owner.name, .callTool(call), .denied(Self.ungrounded))
        }
    }

    static let ungrounded = "not run: nothing the user, the operator or a tool said asks for these arguments"

    /// Asks the monitor about a tool call before it runs; records what it rules, throws a
    /// denial, and returns the call as it may run (redacted if so ruled).
    func screen(_ call: ToolCall, for process: ProcessRecord) async throws -> ToolCall {
        // Memory functions are checked like tools: an edit of memory is a write that
        // outlives the process (core memory sits in every later prompt).
        let declared: ToolEffect
        var roles: [String: ArgumentRole] = [:]
        if process.pager != nil, let effect = MemoryFunctions.effect(of: call.name) {
            declared = effect
        } else if let tool = tools[call.name] {
            declared = tool.effect
            roles = tool.argumentRoles
        } else {
            return call  // perform reports the unknown tool
        }
        let ruling = await security.screen(
            call, effect: declared, pid: process.pid, owner: process.owner.name, context: process.provenance, roles: roles)
        for note in ruling.notes { recordEvent(process, note) }
        if ruling.askedUser, !process.isAlive { throw SyscallError.processExited(process.pid) }
        if let denial = ruling.denial {
            emit(.toolDenied(process.pid, call, reason: denial))
            recordAudit(pid: process.pid, owner: process.owner.name, .callTool(ruling.call), .denied(denial))
            throw SyscallError.permissionDenied(syscall: "call_tool", reason: denial)
        }
        if let confirmation = ruling.confirmation { recordEvent(process, confirmation) }
        return ruling.call
    }
}
