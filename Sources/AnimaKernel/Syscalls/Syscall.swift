import AnimaCore
import AnimaMemory
import AnimaProcessor

/// Everything a process can ask of the kernel. There is no other way for an agent to
/// reach the processor, tools, memory or other processes: each request is authorised,
/// carried out, and recorded in the audit trail with its outcome.
public enum Syscall: Sendable {
    /// Generate on the processor (scheduled with every other process's generations).
    case generate(GenerationRequest)
    /// Run a tool.
    case callTool(ToolCall)
    /// Start a child agent.
    case spawn(AgentSpec)
    /// Wait for a process (a child, or one of the same owner) to exit.
    case wait(PID)
    case signal(PID, Signal)
    /// Put a message in another process's mailbox.
    case send(to: PID, JSONValue)
    /// Take the oldest message from the own mailbox, waiting up to `timeout`.
    case receive(timeout: Duration?)
    /// The owner's values in the kernel's `KeyValueStore` (read, write, erase, list), and
    /// the persistent memory of the owner's agents (attach, forget, search, insert, agents, show).
    case memory(MemoryOperation)
    /// The process table, as far as the caller may see it.
    case listProcesses

    /// The syscall's name, as audit records and errors show it.
    public var name: String {
        switch self {
        case .generate: "generate"
        case .callTool: "call_tool"
        case .spawn: "spawn"
        case .wait: "wait"
        case .signal: "signal"
        case .send: "send"
        case .receive: "receive"
        case .memory(let op): "memory.\(op.name)"
        case .listProcesses: "list_processes"
        }
    }

    /// A short, bounded description of the arguments for the audit trail. Content
    /// (tool arguments, tasks, messages, passages, queries) appears only as `sealed`
    /// makes it: a keyed digest and a length, so the log holds no text a user wrote or
    /// later forgot.
    func summary(sealing sealed: (String) -> String) -> String {
        func clip(_ s: String) -> String { s.clipped(120) }
        switch self {
        case .generate(let r): return "\(r.messages.count) messages, \(r.tools.count) tools, \(r.privacy)"
        case .callTool(let c): return clip("\(c.name) \(sealed(c.arguments.jsonText))")
        case .spawn(let s): return clip("\(s.name): \(sealed(s.task))")
        case .wait(let pid): return "pid \(pid)"
        case .signal(let pid, let signal): return "\(signal.rawValue) pid \(pid)"
        case .send(let pid, let body): return "to \(pid): \(sealed(body.jsonText))"
        case .receive(let timeout): return timeout.map { "timeout \($0)" } ?? "no timeout"
        case .memory(let op): return clip(op.auditSummary(sealing: sealed))
        case .listProcesses: return ""
        }
    }
}

public enum MemoryOperation: Sendable, Hashable {
    case read(key: String)
    case write(key: String, value: JSONValue)
    case erase(key: String)
    case list(prefix: String)
    /// Opens the persistent memory (context window, recall and archival storage) of the
    /// owner's agent `agent` for the calling process, which then runs on its pager.
    case attach(agent: String, systemPrefix: String)
    /// Erases messages (`recallIDs`) and passages (`archivalIDs`) of the owner's agent
    /// `agent`; both nil erases everything it kept.
    case forget(agent: String, recallIDs: [Int64]?, archivalIDs: [Int64]?)
    /// Searches the owner's agent (or all their agents) by words and meaning, with filters,
    /// one page of the whole result.
    case search(MemorySearchRequest)
    /// Saves passages to the archival memory of the owner's agent `agent`, all in one
    /// transaction or none.
    case insert(agent: String, passages: [NewMemoryPassage])
    /// The names of the owner's agents that have persistent memory.
    case agents
    /// What the owner's agent `agent` keeps: core memory, summary, context window, counts.
    case show(agent: String)

    var name: String {
        switch self {
        case .read: "read"
        case .write: "write"
        case .erase: "erase"
        case .list: "list"
        case .attach: "attach"
        case .forget: "forget"
        case .search: "search"
        case .insert: "insert"
        case .agents: "agents"
        case .show: "show"
        }
    }

    /// What the audit trail says about the operation: never content. A search's text is
    /// sealed (a keyed digest and a length); an insert says how many passages and bytes.
    func auditSummary(sealing sealed: (String) -> String) -> String {
        switch self {
        case .search(let request): "\(request.agent ?? "all agents"): \(sealed(request.text))"
        case .insert(let agent, let passages):
            "\(agent): \(passages.count) passage\(passages.count == 1 ? "" : "s"), \(passages.reduce(0) { $0 + $1.text.utf8.count }) bytes"
        default: key ?? prefix ?? ""
        }
    }

    var key: String? {
        switch self {
        case .read(let k), .write(let k, _), .erase(let k): k
        case .attach(let agent, _): agent
        case .forget(let agent, let recall, let archival):
            recall == nil && archival == nil
                ? "\(agent): everything"
                : "\(agent): messages \(recall ?? []), passages \(archival ?? [])"
        case .search(let request): request.agent ?? "all agents"
        case .insert(let agent, _): agent
        case .show(let agent): agent
        case .list, .agents: nil
        }
    }

    var prefix: String? {
        if case .list(let p) = self { return p }
        return nil
    }
}

/// What a syscall returns.
public enum SyscallResult: Sendable {
    case generated(GenerationResult)
    case toolOutput(ToolOutput)
    case spawned(PID)
    case exited(ExitStatus)
    case message(Message?)
    case value(JSONValue?)
    case keys([String])
    case processes([ProcessStatus])
    /// The pager of an attached memory; nil when the kernel has no memory system.
    case pager(Pager?)
    /// How many records an erasure removed.
    case erased(Int)
    /// What a memory search found, and how many damaged records it left out.
    case records(MemorySearchResult)
    /// The IDs of saved passages, in order.
    case inserted([Int64])
    /// The owner's agents with persistent memory, by name.
    case agents([String])
    /// What one agent keeps in memory.
    case snapshot(AgentMemorySnapshot)
    case done
}

/// A tool's answer to a call, as the agent will read it.
public struct ToolOutput: Sendable, Hashable {
    public var text: String
    /// True when the tool reported an error (bad arguments, a failed command): the agent
    /// sees it and may try something else.
    public var isError: Bool
    /// Where the text came from; the kernel sets it when it returns the output.
    public var label: ProvenanceLabel?

    public init(text: String, isError: Bool = false, label: ProvenanceLabel? = nil) {
        self.text = text
        self.isError = isError
        self.label = label
    }
}

/// A message between processes.
public struct Message: Sendable, Hashable {
    public var from: PID
    public var body: JSONValue
    public var sequence: UInt64
    /// The sender's privacy when it sent the message: the receiver takes it in with the body.
    public var privacy: PrivacyLabel = .public
}

/// Why a syscall did not happen or did not complete.
public enum SyscallError: Error, Sendable, Equatable, CustomStringConvertible {
    case permissionDenied(syscall: String, reason: String)
    case noSuchProcess(PID)
    case quotaExceeded(String)
    case unknownTool(String)
    case invalidArguments(String)
    case processExited(PID)
    case timedOut
    case failed(String)
    /// The kernel runs without a processor, so nothing can be generated.
    case noModel

    public var description: String {
        switch self {
        case .permissionDenied(let syscall, let reason): "permission denied for \(syscall): \(reason)"
        case .noSuchProcess(let pid): "no process with pid \(pid)"
        case .quotaExceeded(let which): "quota exceeded: \(which)"
        case .unknownTool(let name): "no tool named \(name.clipped(120)) is available to this process"
        case .invalidArguments(let reason): "invalid arguments: \(reason)"
        case .processExited(let pid): "process \(pid) has exited"
        case .timedOut: "timed out"
        case .failed(let reason): reason
        case .noModel:
            "no model is configured: this kernel runs without a processor, so it cannot generate; use a command that loads a model (anima ask, anima chat, anima serve)"
        }
    }
}
