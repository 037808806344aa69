import AnimaCore
import Foundation

/// Where a process is in its life.
public enum ProcessState: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Wants the processor and waits for a slot.
    case ready
    /// Holds a slot and generates.
    case running
    /// Waits in a syscall that is not generation: a tool, a child, a message.
    case blocked(String)
    /// Stopped by a signal until it is resumed.
    case suspended
    case exited(ExitStatus)

    public var description: String {
        switch self {
        case .ready: "ready"
        case .running: "running"
        case .blocked(let on): "blocked(\(on))"
        case .suspended: "suspended"
        case .exited(let status): "exited(\(status))"
        }
    }

    public var isAlive: Bool {
        if case .exited = self { return false }
        return true
    }
}

/// How a process ended.
public enum ExitStatus: Sendable, Hashable, Codable, CustomStringConvertible {
    /// It finished its task with this answer.
    case completed(String)
    /// Its program failed with this error.
    case failed(String)
    /// A signal terminated it.
    case killed
    /// It ran out of a quota (tokens, tool calls or wall time).
    case quotaExceeded(String)

    /// How a program that threw `error` ended.
    init(ending error: any Error) {
        switch error {
        case SyscallError.quotaExceeded(let which): self = .quotaExceeded(which)
        case let error as SyscallError: self = .failed(error.description)
        case is CancellationError: self = .killed
        default: self = .failed("\(error)")
        }
    }

    public var description: String {
        switch self {
        case .completed: "completed"
        case .failed(let reason): "failed: \(reason)"
        case .killed: "killed"
        case .quotaExceeded(let which): "quota exceeded: \(which)"
        }
    }
}

/// Limits a process runs under. Nil means unlimited.
public struct Quotas: Sendable, Hashable, Codable {
    /// Tokens generated (answers) over the process's life.
    public var tokens: Int?
    public var toolCalls: Int?
    public var wallTime: Duration?

    public init(tokens: Int? = nil, toolCalls: Int? = nil, wallTime: Duration? = nil) {
        self.tokens = tokens
        self.toolCalls = toolCalls
        self.wallTime = wallTime
    }

    public static let unlimited = Quotas()
}

/// What a process has used so far.
public struct ResourceUsage: Sendable, Hashable, Codable {
    public var promptTokens = 0
    public var generatedTokens = 0
    public var toolCalls = 0
    public var syscalls = 0

    public init() {}
}

/// Signals a process can receive.
public enum Signal: String, Sendable, Hashable, Codable, CaseIterable {
    /// Pause: a generation in progress gives up its slot, its KV state saved.
    case suspend
    /// Continue after `suspend`.
    case resume
    /// End now, freeing its slot and KV state at once.
    case terminate
}

/// What to run: the program of an agent process and the rights it asks for.
public struct AgentSpec: Sendable {
    public var name: String
    /// The task, in the user's words.
    public var task: String
    public var systemPrompt: String?
    /// Tools the agent may call (by name), from those the kernel knows.
    public var tools: [String]
    /// Groups it asks for; it gets at most those of its owner (or parent).
    public var groups: Set<String>?
    /// Larger runs first; 0 is normal.
    public var priority: Int
    public var quotas: Quotas
    public var limits: AgentLoop.Limits
    public var sampling: SamplingOverrides
    /// True to run in dual-LLM mode (`DualLLMLoop`): a planner that never reads untrusted
    /// text and a quarantined extractor without tools.
    public var dualLLM: Bool
    /// The agent whose persistent memory this process runs with (its context window is
    /// paged to and from storage, and it gets the memory functions as tools); nil: the
    /// process starts with an empty context and keeps nothing.
    public var memory: String?
    /// How far the task's data may travel; public by default. The kernel raises it as the
    /// process takes in private data (see `PrivacyLabel.init(provenance:)`), never lowers it.
    public var privacy: PrivacyLabel
    /// The side-effecting tools (names or globs) the task may call once untrusted text is
    /// in its context (its `ActionSet`, given explicitly); nil: the model decides them
    /// from the task and the tool list before the agent reads anything untrusted.
    public var actions: [String]?

    /// How each step chooses between calling a tool and answering; nil: the one measured
    /// best for the processor's tool-call family (`AgentLoop.ToolStrategy.measured(for:)`).
    public var toolStrategy: AgentLoop.ToolStrategy?
    /// The model its generations go to (a router candidate's id, or the one model served);
    /// nil lets the router choose. A model this kernel does not serve is refused at spawn.
    public var model: String?

    /// A conversation (`anima chat --tools`): after each answer the agent waits for its
    /// owner's next turn (`Kernel.tell`), keeping its context, its ledger and its action
    /// set (which each turn's own words may extend), until it is terminated.
    public var conversation = false

    public init(
        name: String = "agent", task: String, systemPrompt: String? = nil, tools: [String] = [], groups: Set<String>? = nil,
        priority: Int = 0, quotas: Quotas = .unlimited, limits: AgentLoop.Limits = .init(), sampling: SamplingOverrides = .init(),
        memory: String? = nil, dualLLM: Bool = false, privacy: PrivacyLabel = .public, actions: [String]? = nil
    ) {
        self.actions = actions
        self.privacy = privacy
        self.dualLLM = dualLLM
        self.name = name
        self.task = task
        self.systemPrompt = systemPrompt
        self.tools = tools
        self.groups = groups
        self.priority = priority
        self.quotas = quotas
        self.limits = limits
        self.sampling = sampling
        self.memory = memory
    }
}

/// Sampling choices an agent may make for its generations.
public struct SamplingOverrides: Sendable, Hashable {
    public var temperature: Double
    public var maxTokensPerStep: Int
    public var seed: UInt32

    public init(temperature: Double = 0, maxTokensPerStep: Int = 256, seed: UInt32 = 0) {
        self.temperature = temperature
        self.maxTokensPerStep = maxTokensPerStep
        self.seed = seed
    }
}

/// A row of the process table, as `anima ps` shows it.
public struct ProcessStatus: Sendable, Hashable, Codable {
    public var pid: PID
    public var parent: PID?
    public var name: String
    public var owner: String
    public var groups: [String]
    public var state: ProcessState
    public var priority: Int
    public var usage: ResourceUsage
    public var quotas: Quotas
    /// The processor slot it holds, if running.
    public var slot: Int?
    public var started: Date
}
