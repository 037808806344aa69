import AnimaCore
import AnimaKernel
import Foundation
import Synchronization
import Testing

@testable import AnimaLlama
@testable import AnimaProcessor

/// Context switches on the real model: whatever the scheduler does to a generation, its
/// greedy answer is the one it would have given alone.
@Suite("Context switches on SmolLM2", .serialized)
struct ContextSwitchTests {
    static let prompts = ["Tell me about the moon.", "Describe a busy market.", "What do cats like?"]

    func engine(slots: Int, policy: any SlotPolicy = FIFOPolicy(), prefixSequences: Int = 1, swapLimit: Int = 512 << 20) throws
        -> LlamaEngine
    {
        try LlamaEngine(
            .init(
                modelPath: try TestModel.requirePath(), slots: slots, contextLength: 512, scheduler: Scheduler(policy: policy),
                sharedPrefixSequences: prefixSequences, swapMemoryLimit: swapLimit,
                swapDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("anima-swap-test-\(UUID().uuidString)")))
    }

    func answers(_ engine: LlamaEngine, _ requests: [GenerationRequest], together: Bool) async throws -> [String] {
        if !together {
            var out: [String] = []
            for r in requests { out.append(try await engine.generate(r).collect().text) }
            return out
        }
        return try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for (i, r) in requests.enumerated() { group.addTask { (i, try await engine.generate(r).collect().text) } }
            var out = [String](repeating: "", count: requests.count)
            for try await (i, t) in group { out[i] = t }
            return out
        }
    }

    var requests: [GenerationRequest] {
        Self.prompts.map { GenerationRequest(messages: [.user($0)], sampling: .greedy(maxTokens: 24)) }
    }

    @Test("round robin on one slot preempts every 4 tokens and changes no answer")
    func roundRobinPreemption() async throws {
        let alone = try await answers(try engine(slots: 1), requests, together: false)
        let shared = try engine(slots: 1, policy: RoundRobinPolicy(quantum: 4))
        let interleaved = try await answers(shared, requests, together: true)
        #expect(interleaved == alone)
        #expect(shared.statistics.preemptions >= 6)
        #expect(shared.statistics.restores >= 6)
    }

    @Test("states swapped out to disk come back intact")
    func swapToDisk() async throws {
        let alone = try await answers(try engine(slots: 1), requests, together: false)
        let swapping = try engine(slots: 1, policy: RoundRobinPolicy(quantum: 3), swapLimit: 0)
        let interleaved = try await answers(swapping, requests, together: true)
        #expect(interleaved == alone)
        #expect(swapping.statistics.swapOuts >= 6)
        #expect(swapping.statistics.swappedToDiskBytes == 0)  // every file read back and removed
    }

    @Test("a shared system prompt is computed once and gives the same answers")
    func sharedPrefix() async throws {
        let system = "You are a careful assistant for a library. " + String(repeating: "Answer briefly and politely. ", count: 8)
        // Each request with the system prompt follows one without it, so the slot never still
        // holds the system prompt (see `slotKeepsAFinishedPrompt`): only the cache can supply it.
        let requests = Self.prompts.flatMap {
            [
                GenerationRequest(messages: [.system(system), .user($0)], sampling: .greedy(maxTokens: 16)),
                GenerationRequest(messages: [.user("Say something else about " + $0)], sampling: .greedy(maxTokens: 4)),
            ]
        }
        let plain = try engine(slots: 1, prefixSequences: 0)
        let expected = try await answers(plain, requests, together: false)
        let sharing = try engine(slots: 1, prefixSequences: 1)
        let got = try await answers(sharing, requests, together: false)
        #expect(got == expected)
        #expect(sharing.statistics.sharedPrefixHits == Self.prompts.count - 1)
        #expect(plain.statistics.sharedPrefixHits == 0)
        // Reading the prompts cost far fewer tokens with the prefix shared.
        #expect(sharing.statistics.batchedTokens < plain.statistics.batchedTokens - 100)
    }

    /// A slot keeps the cells of the generation that finished on it: the next turn of the same
    /// conversation reads only the new messages, and answers exactly as a fresh engine does.
    @Test("a conversation's next turn reads only what is new, with the same answer")
    func slotKeepsAFinishedPrompt() async throws {
        let first = GenerationRequest(messages: [.user(Self.prompts[0])], sampling: .greedy(maxTokens: 24))
        let talking = try engine(slots: 1, prefixSequences: 0)
        let said = try await talking.generate(first).collect().text
        let before = talking.statistics
        let next = GenerationRequest(
            messages: [.user(Self.prompts[0]), .assistant(said), .user("And what about the sun?")], sampling: .greedy(maxTokens: 24))
        let answer = try await talking.generate(next).collect()
        let fresh = try engine(slots: 1, prefixSequences: 0)
        let expected = try await fresh.generate(next).collect()
        #expect(answer.text == expected.text)
        let reused = talking.statistics.reusedPromptTokens - before.reusedPromptTokens
        let promptTokens = answer.usage.promptTokens
        #expect(reused > 24, "the first turn's prompt and answer are kept: \(reused) of \(promptTokens)")
        #expect(talking.statistics.batchedTokens - before.batchedTokens == promptTokens - reused + answer.usage.completionTokens - 1)
        #expect(fresh.statistics.reusedPromptTokens == 0)
    }

    /// What a slot keeps serves only the owner whose prompt it was: another user's same words
    /// are read afresh, so the time to their first token says nothing about anyone else's.
    @Test("a slot's kept prompt serves only its owner")
    func keptPromptsArePerOwner() async throws {
        var alice = GenerationRequest(messages: [.user(Self.prompts[1])], sampling: .greedy(maxTokens: 8))
        alice.cacheOwner = "alice"
        var bob = alice
        bob.cacheOwner = "bob"
        let shared = try engine(slots: 1, prefixSequences: 0)
        _ = try await shared.generate(alice).collect()
        let bobs = try await shared.generate(bob).collect()
        #expect(shared.statistics.reusedPromptTokens == 0)
        _ = try await shared.generate(bob).collect()
        #expect(shared.statistics.reusedPromptTokens == bobs.usage.promptTokens - 1)
    }

    /// The shared-prefix cache is per owner too: bob's request with alice's system prompt
    /// computes it afresh (and caches it for bob), alice's next one finds hers.
    @Test("a cached system prompt serves only its owner")
    func cachedPrefixesArePerOwner() async throws {
        let system = "You are a careful assistant for a library. " + String(repeating: "Answer briefly and politely. ", count: 8)
        func request(_ owner: String, _ question: String) -> GenerationRequest {
            var r = GenerationRequest(messages: [.system(system), .user(question)], sampling: .greedy(maxTokens: 4))
            r.cacheOwner = owner
            return r
        }
        let filler = GenerationRequest(messages: [.user("Something else entirely.")], sampling: .greedy(maxTokens: 4))
        let engine = try engine(slots: 1, prefixSequences: 2)
        // Each cached request follows the filler, so the slot itself never holds the prompt.
        for (owner, question) in [("alice", Self.prompts[0]), ("bob", Self.prompts[1]), ("alice", Self.prompts[2])] {
            _ = try await engine.generate(filler).collect()
            _ = try await engine.generate(request(owner, question)).collect()
        }
        #expect(engine.statistics.sharedPrefixHits == 1)  // alice's second request only
    }

    @Test("settings changed while it runs (one active slot, a 16-token batch, one thread) change no answer")
    func settingsBetweenSteps() async throws {
        // Prompts longer than the 16-token batch, so each is read over several steps.
        let requests = Self.prompts.map {
            GenerationRequest(
                messages: [.user($0 + " Answer in one short paragraph of plain words, and end with one fact a child would find surprising.")],
                sampling: .greedy(maxTokens: 24))
        }
        let alone = try await answers(try engine(slots: 1), requests, together: false)
        let tuned = try engine(slots: 3)
        #expect(tuned.settingLimits.activeSlots == 1...3)
        // Out-of-range values are brought within the limits.
        tuned.apply(EngineSettings(threads: 0, batchTokens: 1, activeSlots: 1))
        let most = Mutex(0)
        let watcher = Task {
            while !Task.isCancelled {
                let running = tuned.statistics.runningSequences
                most.withLock { $0 = max($0, running) }
                try? await Task.sleep(for: .milliseconds(1))
            }
        }
        let together = try await answers(tuned, requests, together: true)
        watcher.cancel()
        #expect(together == alone)
        #expect(tuned.settings == EngineSettings(threads: 1, batchTokens: 16, activeSlots: 1))
        #expect(most.withLock { $0 } == 1)
        // Prompts were read 16 tokens a step: more steps than tokens generated.
        #expect(tuned.statistics.decodeSteps > tuned.statistics.generatedTokens)
        #expect(tuned.statistics.tokenGaps.count > 0)
        // Each generation's wait for its first token is recorded once; with one active slot
        // the last one admitted waited for the others to finish.
        let firstTokens = tuned.statistics.firstTokenLatencies
        #expect(firstTokens.count == requests.count)
        #expect(firstTokens.quantile(1)! > firstTokens.quantile(0)! * 2)
    }

    @Test("fewer active slots than slots: round robin still rotates the waiting in, and no answer changes")
    func activeSlotsBelowTheSlots() async throws {
        let requests = Self.prompts.map { GenerationRequest(messages: [.user($0)], sampling: .greedy(maxTokens: 20)) }
        let alone = try await answers(try engine(slots: 1), requests, together: false)
        var configuration = LlamaEngine.Configuration(
            modelPath: try TestModel.requirePath(), slots: 3, contextLength: 512, scheduler: Scheduler(policy: RoundRobinPolicy(quantum: 4)))
        configuration.activeSlots = 1
        let engine = try LlamaEngine(configuration)
        #expect(engine.settings.activeSlots == 1 && engine.settingLimits.activeSlots == 1...3)
        let together = try await answers(engine, requests, together: true)
        #expect(together == alone)
        // Three generations on one active slot with a 4-token slice take turns: the two free
        // slots do not let a running one keep the processor until it finishes.
        #expect(engine.statistics.preemptions >= 4)
        configuration.activeSlots = 4
        #expect(throws: ProcessorError.self) { try LlamaEngine(configuration) }
    }
}
