import AnimaCore
import AnimaTesting
import Foundation
import Synchronization
import Testing

@testable import AnimaProcessor
@testable import AnimaProviders

@Suite("Processor router")
struct ProcessorRouterTests {
    static let capabilities = ModelCapabilities(contextLength: 4096, tools: true, vision: false)
    static let cloudPrice = ModelPrice(inputPerMillion: 3, outputPerMillion: 15)

    static func candidate(
        _ id: String, _ model: any LanguageModel, _ location: ProcessorLocation, price: ModelPrice? = .free,
        capabilities: ModelCapabilities = capabilities, load: (@Sendable () -> ProcessorLoad)? = nil
    ) -> RouteCandidate {
        RouteCandidate(id: id, processor: model, location: location, capabilities: capabilities, price: price, load: load)
    }

    /// A belief that strongly favours `candidate` on every task class the tests use.
    static func favouring(_ candidate: String) -> [TaskClass: [String: ThompsonSampler.Belief]] {
        Dictionary(
            uniqueKeysWithValues: ["chat", "tools", "synthetic"].map {
                (TaskClass($0), [candidate: ThompsonSampler.Belief(successes: 1000, failures: 0)])
            })
    }

    // MARK: - Privacy

    /// Private requests and requests with a protected group's data stay local whatever
    /// the load, the mode, the budget or the learned preference for the cloud; public
    /// requests meanwhile do go to the cloud, so the rule is what keeps them apart.
    @Test func privateDataNeverRoutesToTheCloudUnderAnyLoad() async throws {
        let local = ScriptedModel(name: "local") { _ in .text("local answer") }
        let cloud = ScriptedModel(name: "cloud") { _ in .text("cloud answer") }
        // The local engine is saturated: every slot busy and 50 requests waiting.
        let saturated: @Sendable () -> ProcessorLoad = { ProcessorLoad(running: 4, waiting: 50, slots: 4) }
        for mode in [ProcessorMode.hybrid, .cloud] {
            let router = try ProcessorRouter(
                candidates: [
                    Self.candidate("local/smol", local, .local, load: saturated),
                    Self.candidate("cloud/big", cloud, .remote, price: Self.cloudPrice),
                ],
                policy: RouterPolicy(mode: mode, protectedGroups: ["medical"], seed: 7), learned: Self.favouring("cloud/big"))
            let labels: [PrivacyLabel] = [
                .private, .groups("medical"), .groups("medical", "travel"), PrivacyLabel(isPrivate: true, groups: ["x"]), .public,
                .groups("travel"),
            ]
            try await withThrowingTaskGroup(of: (PrivacyLabel, String).self) { group in
                for i in 0..<120 {
                    var request = GenerationRequest(messages: [.user("request \(i)")])
                    request.privacy = labels[i % labels.count]
                    group.addTask {
                        let routed = try router.start(request)
                        let text = try await routed.events.collect().text
                        return (request.privacy, text)
                    }
                }
                for try await (label, text) in group {
                    let staysLocal = label.staysLocal(protecting: ["medical"])
                    #expect(text == (staysLocal ? "local answer" : "cloud answer"), "\(label) in \(mode) mode")
                }
            }
            #expect(!cloud.requests.contains { $0.privacy.staysLocal(protecting: ["medical"]) })
            for decision in router.log.decisions where decision.staysLocal {
                #expect(decision.order == ["local/smol"])
                #expect(decision.excluded.map(\.candidate) == ["cloud/big"])
                #expect(decision.reason.contains("kept on this machine"))
            }
            #expect(router.log.decisions.filter(\.staysLocal).count == 80)
        }
        #expect(cloud.requests.count == 80, "the public requests went to the cloud")
    }

    /// When the only local processor fails on a private request, the request fails; it
    /// does not fall back to the cloud.
    @Test func failoverStaysWithinThePrivacyRule() async throws {
        let local = ScriptedModel(replies: [.failure("out of memory")], name: "local")
        let cloud = ScriptedModel(name: "cloud") { _ in .text("cloud answer") }
        let router = try ProcessorRouter(
            candidates: [Self.candidate("local/smol", local, .local), Self.candidate("cloud/big", cloud, .remote, price: Self.cloudPrice)],
            policy: RouterPolicy(seed: 1))
        var request = GenerationRequest(messages: [.user("my bank statement")])
        request.privacy = .private
        await #expect(throws: ProcessorError.engineFailure("out of memory")) { _ = try await router.generate(request).collect() }
        #expect(cloud.requests.isEmpty)
    }

    /// The router is not the only guard: a remote provider given a private request by
    /// some other path refuses it before opening a connection.
    @Test func remoteProvidersRefusePrivateRequestsThemselves() async throws {
        try await Replay.with([]) { server in
            let provider = try OpenAIProvider(
                endpoint: Replay.endpoint(.openAI, server: server, path: "/v1"), model: "gpt-4o-mini",
                credential: Replay.credential("openai", "OPENAI_KEY"))
            var request = GenerationRequest(messages: [.user("secret")])
            request.privacy = .private
            #expect(await Replay.failure(of: provider.generate(request)) as? ProviderError == .privateDataRefused(provider: "openai"))
            #expect(server.connections == 0)
        }
    }

    @Test func localModeUsesNoRemoteProcessor() async throws {
        let cloud = ScriptedModel(name: "cloud") { _ in .text("cloud answer") }
        let router = try ProcessorRouter(
            candidates: [Self.candidate("cloud/big", cloud, .remote, price: Self.cloudPrice)], policy: RouterPolicy(mode: .local))
        #expect(
            throws: RouterError.noProcessor(
                excluded: [.init(candidate: "cloud/big", reason: "local mode uses no network")], staysLocal: false)
        ) {
            _ = try router.decide(GenerationRequest(messages: [.user("hi")]))
        }
        #expect(cloud.requests.isEmpty)
        // A configuration in local mode does not even build its remote providers.
        let configuration = ProcessorConfiguration(
            mode: .local,
            providers: [
                ProviderEndpoint(id: "openai", kind: .openAI, models: [RemoteModel(name: "gpt-4o-mini")]),
                ProviderEndpoint(id: "ollama", kind: .ollama, models: [RemoteModel(name: "llama3.2")]),
            ])
        let candidates = try configuration.providerCandidates(credentials: nil, environment: [:])
        #expect(candidates.map(\.id) == ["ollama/llama3.2"])
        #expect(candidates.allSatisfy { $0.location == .local })
    }

    @Test func aSavedConfigurationIsPrivateAndReadsBack() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("processor-\(UUID().uuidString)")
        let url = directory.appendingPathComponent("processor.json")
        let configuration = ProcessorConfiguration(
            mode: .local, providers: [ProviderEndpoint(id: "ollama", kind: .ollama, models: [RemoteModel(name: "llama3.2")])])
        umask(0o022)
        try configuration.save(to: url)
        try configuration.save(to: url)
        let mode = try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["processor.json"])
        #expect(try ProcessorConfiguration.load(from: url).providers.map(\.id) == ["ollama"])
    }

    // MARK: - Budget

    @Test func budgetExhaustionFallsBackToLocal() async throws {
        let local = ScriptedModel(name: "local") { _ in .text("local words here") }
        let cloud = ScriptedModel(name: "cloud") { _ in .text("cloud words here") }
        // A dollar per thousand tokens, so that a few requests spend the budget.
        let price = ModelPrice(inputPerMillion: 1000, outputPerMillion: 1000)
        let router = try ProcessorRouter(
            candidates: [Self.candidate("local/smol", local, .local), Self.candidate("cloud/big", cloud, .remote, price: price)],
            policy: RouterPolicy(budget: 0.05, expectedAnswerTokens: 4, seed: 3), learned: Self.favouring("cloud/big"))
        var served: [String] = []
        for i in 0..<12 {
            let routed = try router.start(GenerationRequest(messages: [.user("question \(i)")], sampling: .greedy(maxTokens: 4)))
            _ = try await routed.events.collect()
            served.append(routed.decision.chosen)
        }
        let firstLocal = try #require(served.firstIndex(of: "local/smol"), "the budget never ran out: \(served)")
        #expect(firstLocal > 0, "the cloud was used while the budget lasted")
        #expect(served[firstLocal...].allSatisfy { $0 == "local/smol" })
        let spending = router.spending
        #expect(spending.spent > 0.03 && spending.spent <= 0.05, "spent \(spending.spent)")
        #expect(spending.reserved == 0)
        let last = try #require(router.log.decisions.last)
        #expect(last.excluded.first?.reason.hasPrefix("over budget") == true)
    }

    @Test func unknownPricesAreNotUsedUnderABudget() throws {
        let cloud = ScriptedModel(name: "cloud") { _ in .text("x") }
        let router = try ProcessorRouter(
            candidates: [Self.candidate("cloud/new", cloud, .remote, price: nil)], policy: RouterPolicy(budget: 10))
        #expect(throws: RouterError.self) { _ = try router.decide(GenerationRequest(messages: [.user("hi")])) }
    }

    // MARK: - Failover

    @Test func failingProviderFailsOver() async throws {
        // A real provider whose server keeps failing, preferred by what was learned.
        let failing = ReplayExchange(
            request: .init(method: "POST", path: "/v1/chat/completions"),
            response: .init(
                status: 503, headers: [("Content-Type", "application/json")], body: Array(#"{"error":{"message":"overloaded"}}"#.utf8)))
        try await Replay.with([failing, failing]) { server in
            let openai = try OpenAIProvider(
                endpoint: Replay.endpoint(
                    .openAI, server: server, path: "/v1", retry: RetryPolicy(maxAttempts: 2, baseDelay: 0.01, maxDelay: 0.01)),
                model: "gpt-4o-mini", credential: Replay.credential("openai", "OPENAI_KEY"))
            let local = ScriptedModel(name: "local") { _ in .text("served locally") }
            let router = try ProcessorRouter(
                candidates: [
                    Self.candidate("openai/gpt-4o-mini", openai, .remote, price: Self.cloudPrice),
                    Self.candidate("local/smol", local, .local),
                ],
                policy: RouterPolicy(seed: 5), learned: Self.favouring("openai/gpt-4o-mini"))
            let routed = try router.start(GenerationRequest(messages: [.user("hello")]))
            #expect(routed.decision.order == ["openai/gpt-4o-mini", "local/smol"])
            #expect(try await routed.events.collect().text == "served locally")
            let failovers = router.log.events.compactMap {
                if case .failedOver(_, let from, let to, let error) = $0 { (from, to, error) } else { nil }
            }
            #expect(failovers.count == 1)
            #expect(failovers.first?.0 == "openai/gpt-4o-mini" && failovers.first?.1 == "local/smol")
            #expect(failovers.first?.2.contains("HTTP 503") == true)
            #expect(router.spending.spent == 0 && router.spending.reserved == 0)
        }
    }

    @Test func everyCandidateFailing() async throws {
        let a = ScriptedModel(replies: [.failure("a broke")], name: "a")
        let b = ScriptedModel(replies: [.failure("b broke")], name: "b")
        let router = try ProcessorRouter(
            candidates: [Self.candidate("a", a, .local), Self.candidate("b", b, .local)], policy: RouterPolicy(seed: 2))
        let error = await Replay.failure(of: router.generate(GenerationRequest(messages: [.user("hi")])))
        guard case .allFailed(let failures)? = error as? RouterError else { Issue.record("got \(String(describing: error))"); return }
        #expect(Set(failures.map(\.candidate)) == ["a", "b"])
    }

    // MARK: - Capabilities and load

    @Test func capabilitiesRuleOutModels() throws {
        let small = ScriptedModel(name: "small") { _ in .text("x") }
        let noTools = ScriptedModel(name: "notools") { _ in .text("x") }
        let router = try ProcessorRouter(
            candidates: [
                Self.candidate("small", small, .local, capabilities: ModelCapabilities(contextLength: 64)),
                Self.candidate("notools", noTools, .local, capabilities: ModelCapabilities(contextLength: 100_000, tools: false)),
            ],
            policy: RouterPolicy(seed: 4))
        let long = GenerationRequest(messages: [.user(String(repeating: "word ", count: 200))])
        #expect(try router.decide(long).order == ["notools"])
        let tools = GenerationRequest(messages: [.user("weather?")], tools: [Replay.weatherTool])
        #expect(try router.decide(tools).order == ["small"])
        let both = GenerationRequest(messages: [.user(String(repeating: "word ", count: 200))], tools: [Replay.weatherTool])
        do {
            _ = try router.decide(both)
            Issue.record("no model can serve a long request with tools")
        } catch {
            guard case .noProcessor(let excluded, false) = error else { Issue.record("got \(error)"); return }
            #expect(excluded.map(\.candidate) == ["small", "notools"])
            #expect(excluded[0].reason.contains("tokens of context") && excluded[1].reason == "cannot call tools")
        }
        #expect(throws: RouterError.self) {
            _ = try router.decide(GenerationRequest(messages: [.user("what is in this picture?")]), requirements: .init(vision: true))
        }
    }

    /// A busy local engine is tried after the idle ones, not ruled out.
    @Test func busyLocalEngineGoesLast() throws {
        let load = Mutex(ProcessorLoad(running: 1, waiting: 0, slots: 4))
        let local = ScriptedModel(name: "local") { _ in .text("x") }
        let cloud = ScriptedModel(name: "cloud") { _ in .text("y") }
        let router = try ProcessorRouter(
            candidates: [
                Self.candidate("local", local, .local, load: { load.withLock { $0 } }),
                Self.candidate("cloud", cloud, .remote, price: Self.cloudPrice),
            ],
            policy: RouterPolicy(seed: 9), learned: Self.favouring("local"))
        let request = GenerationRequest(messages: [.user("hi")])
        #expect(try router.decide(request).order == ["local", "cloud"])
        load.withLock { $0 = ProcessorLoad(running: 4, waiting: 3, slots: 4) }
        let busy = try router.decide(request)
        #expect(busy.order == ["cloud", "local"])
        #expect(busy.deferred == ["local"])
    }

    // MARK: - Learning

    /// Two scripted models on a synthetic task with a checkable answer: one is right 90%
    /// of the time, the other 40%. Rewarded by correctness, the bandit ends up sending
    /// nearly everything to the better one.
    @Test func banditConvergesToTheBetterModel() async throws {
        func answering(correctly rate: Double, seed: UInt64) -> ScriptedModel {
            let random = Mutex(SplitMix64(seed: seed))
            return ScriptedModel(name: "model") { _ in
                let draw = random.withLock { Double($0.next() >> 11) / 9_007_199_254_740_992 }
                return .text(draw < rate ? "4" : "5")
            }
        }
        let router = try ProcessorRouter(
            candidates: [
                Self.candidate("good", answering(correctly: 0.9, seed: 11), .local),
                Self.candidate("weak", answering(correctly: 0.4, seed: 12), .local),
            ],
            policy: RouterPolicy(seed: 42))
        var chosen: [String] = []
        for _ in 0..<300 {
            let routed = try router.start(GenerationRequest(messages: [.user("What is 2 + 2?")]), taskClass: "synthetic")
            let answer = try await routed.events.collect().text
            try router.reward(routed.decision.id, answer == "4" ? 1 : 0)
            chosen.append(routed.decision.chosen)
        }
        let late = chosen.suffix(100).filter { $0 == "good" }.count
        #expect(late >= 90, "the better model served \(late) of the last 100")
        let learned = try #require(router.learned["synthetic"])
        #expect(learned["good"]!.mean > 0.8)
        #expect(learned["weak"]!.mean < 0.6)
        #expect(learned["good"]!.observations > learned["weak"]!.observations)
        #expect(throws: RouterError.unknownDecision(999_999)) { try router.reward(999_999, 1) }
    }

    // MARK: - The record

    @Test func everyDecisionIsRecordedWithoutThePrompt() async throws {
        let local = ScriptedModel(name: "local") { _ in .text("fine") }
        let router = try ProcessorRouter(candidates: [Self.candidate("local", local, .local)], policy: RouterPolicy(seed: 1))
        let subscription = router.log.subscribe()
        let routed = try router.start(GenerationRequest(messages: [.user("my passport number is X123")]), taskClass: "chat")
        _ = try await routed.events.collect()
        try router.reward(routed.decision.id, 1)
        var seen: [RoutingEvent] = []
        for await event in subscription {
            seen.append(event)
            if seen.count == 3 { break }
        }
        guard case .decided(let decision) = seen[0], case .completed(let id, "local", _, 0) = seen[1],
            case .rewarded(let rewarded?, "chat", "local", 1) = seen[2]
        else {
            Issue.record("unexpected events \(seen)"); return
        }
        #expect(decision.id == id && id == rewarded)
        #expect(!router.log.events.map(\.description).joined().contains("X123"))
    }
}
