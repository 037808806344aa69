import AnimaCore
import AnimaProcessor
import AnimaProviders
import AnimaTesting
import Testing

@testable import AnimaKernel

/// The kernel chooses each agent's tool strategy by its processor's tool-call family, for
/// every agent it runs (daemon, native API and MCP agents included), not only `anima run`'s.
@Suite("Tool strategy per model family")
struct ToolStrategyTests {
    /// The constraint a step's request carries under `strategy` (what the engine sees).
    static func constraint(of strategy: AgentLoop.ToolStrategy) -> ToolConstraint {
        switch strategy {
        case .grammar: .wholeAnswer
        case .native, .decideFirst: .whenCalling
        }
    }

    /// Runs one agent with the `add` tool on a model of `syntax` and returns its requests.
    static func requests(syntax: ToolCallSyntax?, strategy: AgentLoop.ToolStrategy? = nil) async throws -> [GenerationRequest] {
        let model = ScriptedModel(toolCallSyntax: syntax) { request in
            if case .jsonSchema = request.responseFormat { return .text("answer") }
            return .text("Five.")
        }
        let kernel = Kernel(.init(processor: model, tools: [AddTool()]))
        var spec = AgentSpec(task: "What is 2+3?", tools: ["add"])
        spec.toolStrategy = strategy
        let pid = try await kernel.spawn(spec, owner: alice)
        #expect(try await kernel.wait(pid) == .completed("Five."))
        // The agent's own steps (not the action-set step the kernel may run before them).
        return model.requests.filter { $0.messages.first?.content.hasPrefix(AgentLoop.defaultSystemPrompt) == true }
    }

    static let families: [ToolCallSyntax?] = [nil] + ToolCallSyntax.allCases.map { $0 }

    @Test(arguments: ToolStrategyTests.families)
    func anAgentWithoutAStrategyGetsTheOneMeasuredForItsModelsFamily(syntax: ToolCallSyntax?) async throws {
        let measured = AgentLoop.ToolStrategy.measured(for: syntax)
        let requests = try await Self.requests(syntax: syntax)
        let step = try #require(requests.last)
        #expect(step.tools.map(\.name) == ["add"])
        switch measured {
        case .decideFirst:
            // The decision step ("tool or answer?") came first, offering no tools.
            #expect(requests.contains { $0.tools.isEmpty && $0.responseFormat != .text })
            #expect(step.toolChoice == .none)
            #expect(step.toolConstraint == .wholeAnswer)  // words only: no call after deciding to answer
        case .grammar, .native:
            #expect(step.toolConstraint == Self.constraint(of: measured))
            #expect(step.toolChoice == .auto)
        }
    }

    @Test(arguments: AgentLoop.ToolStrategy.allCases)
    func aStrategyTheSpecNamesWinsOverTheFamilys(strategy: AgentLoop.ToolStrategy) async throws {
        for syntax in ToolCallSyntax.allCases {
            let requests = try await Self.requests(syntax: syntax, strategy: strategy)
            let step = try #require(requests.last)
            if strategy == .decideFirst {
                #expect(requests.count == 2)
                #expect(step.toolChoice == .none)
                #expect(step.toolConstraint == .wholeAnswer)
            } else {
                #expect(requests.count == 1)
                #expect(step.toolConstraint == Self.constraint(of: strategy))
            }
        }
    }

    /// Decide-first's question is the agent's own business: whoever watches the process
    /// (`anima run`, the voice command that speaks the text) sees the answer, not "tool".
    @Test func theDecisionStepIsNotStreamedToObservers() async throws {
        let model = ScriptedModel(toolCallSyntax: .smolLM2) { request in
            if case .jsonSchema = request.responseFormat { return .text("\"answer\"") }
            return .text("Five.")
        }
        let kernel = Kernel(.init(processor: model, tools: [AddTool()]))
        let events = await kernel.events()
        var spec = AgentSpec(task: "What is 2+3?", tools: ["add"])
        spec.toolStrategy = .decideFirst
        let pid = try await kernel.spawn(spec, owner: alice)
        var streamed = ""
        for await event in events {
            if case .text(pid, let text) = event { streamed += text }
            if case .exited(pid, _) = event { break }
        }
        #expect(streamed == "Five.")
        #expect(model.requests.contains { $0.isPrivateStep && $0.responseFormat != .text })
    }

    @Test func theFamilyReachesAgentsThroughARouterAndThePrivatePager() throws {
        let local = ScriptedModel(replies: [], toolCallSyntax: .smolLM2)
        let candidate = RouteCandidate(
            id: "local/smol", processor: local, location: .local,
            capabilities: ModelCapabilities(contextLength: 4096, tools: true, vision: false, structuredOutput: true), price: .free)
        let router = try ProcessorRouter(candidates: [candidate])
        #expect(router.info.toolCallSyntax == .smolLM2)
        #expect(PrivateProcessor(base: router).info.toolCallSyntax == .smolLM2)
        // Two local families: no one family to choose by.
        let other = RouteCandidate(
            id: "local/qwen", processor: ScriptedModel(replies: [], toolCallSyntax: .hermes), location: .local,
            capabilities: candidate.capabilities, price: .free)
        #expect(try ProcessorRouter(candidates: [candidate, other]).info.toolCallSyntax == nil)
    }
}
