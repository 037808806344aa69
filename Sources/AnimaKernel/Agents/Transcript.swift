import AnimaCore
import AnimaMemory
import AnimaProcessor

/// What an agent has said and seen so far, and how it becomes the next request: a
/// plain list of messages for a process without memory, or the agent's pager, which
/// writes every message to storage, evicts under pressure and pages in what the next
/// generation needs.
enum Transcript {
    case plain(messages: [ChatMessage], tools: [ToolDefinition])
    case paged(Pager)

    /// Starts the transcript of `spec`'s task.
    static func start(_ spec: AgentSpec, systemPrompt: String, tools: [ToolDefinition], in context: ProcessContext) async throws
        -> Transcript
    {
        guard let agent = spec.memory else { return .plain(messages: [.system(systemPrompt), .user(spec.task)], tools: tools) }
        guard let pager = try await context.attachMemory(agent: agent, systemPrefix: systemPrompt) else {
            throw SyscallError.failed("agent \(spec.name) asks for the memory of \(agent), but this kernel runs without persistent memory")
        }
        try await pager.offerTools(tools)
        try await pager.append(.user(spec.task))
        return .paged(pager)
    }

    mutating func append(_ message: ChatMessage) async throws {
        switch self {
        case .plain(var messages, let tools):
            messages.append(message)
            self = .plain(messages: messages, tools: tools)
        case .paged(let pager):
            try await pager.append(message)
        }
    }

    /// The request for the next step.
    func request(sampling: SamplingParameters) async throws -> GenerationRequest {
        switch self {
        case .plain(let messages, let tools):
            return GenerationRequest(messages: messages, tools: tools, sampling: sampling)
        case .paged(let pager):
            return try await pager.prepare(sampling: sampling).request
        }
    }
}
