import AnimaCore
import AnimaProcessor
import Foundation
import Synchronization

/// The hybrid processor: for each request, chooses among local and remote processors, on
/// this machine and in microseconds, and is itself a `LanguageModel`.
///
/// A decision goes through these steps, and every one is recorded (`log`):
/// 0. **Pin.** A request that names a candidate (`GenerationRequest.pinnedProcessor`)
///    may go only there, and only if every rule below allows it.
/// 1. **Mode.** Local mode allows only processors on this machine; cloud mode sends
///    public requests to remote processors only.
/// 2. **Privacy.** A request labelled private, or carrying data of a protected group,
///    is served on this machine only. This is enforced again just before dispatch, and
///    remote providers refuse private requests themselves.
/// 3. **Capabilities.** The estimated prompt plus the answer must fit the context; tools
///    and vision must be supported where the request needs them.
/// 4. **Budget.** A paid model is allowed only while its estimated cost fits what is
///    left of the budget; a model of unknown price is not allowed under a budget.
/// 5. **Load.** A local engine whose queue is full is tried after the others.
/// 6. **Learned quality.** Among what remains, Thompson sampling over the task class's
///    rewards orders the candidates; the first is chosen, the rest are fallbacks.
///
/// If the chosen processor fails before it has produced any output, the next one takes
/// over; fallbacks come from the same allowed list, so they obey the same rules. After
/// output has started a failure is reported, since a second answer would repeat the first.
public final class ProcessorRouter: LanguageModel, ProcessorRouting {
    public let info: ModelInfo
    public let policy: RouterPolicy
    public let candidates: [RouteCandidate]
    /// Every decision, failover, completion and reward.
    public let log: DecisionLog

    private struct State {
        var bandit: ThompsonSampler
        var ledger: CostLedger
        var nextID: UInt64 = 1
        /// Who served which recent decision, for rewards that arrive later.
        var served: [UInt64: (taskClass: TaskClass, candidate: String)] = [:]
        var servedOrder: [UInt64] = []
    }

    private let state: Mutex<State>
    private static let rememberedDecisions = 10_000

    /// - Parameters:
    ///   - candidates: the processors to choose from; their ids must be unique.
    ///   - policy: mode, protected groups, budget and load rules.
    ///   - learned: rewards learned by an earlier run (`learned` of that router).
    ///   - log: where decisions go; a new log by default.
    public init(
        candidates: [RouteCandidate], policy: RouterPolicy = .init(),
        learned: [TaskClass: [String: ThompsonSampler.Belief]] = [:], log: DecisionLog = DecisionLog()
    ) throws(RouterError) {
        var seen = Set<String>()
        for candidate in candidates where !seen.insert(candidate.id).inserted {
            throw .invalidConfiguration("two candidates are called \(candidate.id)")
        }
        if let budget = policy.budget, !(budget >= 0) { throw .invalidConfiguration("the budget cannot be negative") }
        if policy.maxAttempts < 1 { throw .invalidConfiguration("at least one attempt per request is needed") }
        self.candidates = candidates
        self.policy = policy
        self.log = log
        // Remote providers ignore tool grammars, so the local models' family is the one that matters.
        let localSyntaxes = Set(candidates.filter { $0.location == .local }.map { $0.processor.info.toolCallSyntax })
        info = ModelInfo(
            name: "router", contextLength: candidates.map(\.capabilities.contextLength).max() ?? 0,
            toolCallSyntax: localSyntaxes.count == 1 ? localSyntaxes.first! : nil)
        state = Mutex(State(bandit: ThompsonSampler(seed: policy.seed, beliefs: learned), ledger: CostLedger(limit: policy.budget)))
    }

    // MARK: - Deciding

    /// What a request needs beyond what its shape says.
    public struct Requirements: Sendable, Hashable {
        /// The request carries images.
        public var vision: Bool

        public init(vision: Bool = false) { self.vision = vision }
    }

    /// Decides where `request` would go and records the decision, without running it.
    /// No network, no tokenizer: this is the whole routing overhead.
    public func decide(
        _ request: GenerationRequest, taskClass: TaskClass? = nil, requirements: Requirements = .init()
    ) throws(RouterError) -> RoutingDecision {
        try decide(request, taskClass: taskClass, requirements: requirements, reserving: false)
    }

    /// Decides, and when `reserving`, holds the estimated cost against the budget in the
    /// same step, so that concurrent requests cannot all pass the budget check at once.
    private func decide(
        _ request: GenerationRequest, taskClass: TaskClass?, requirements: Requirements, reserving: Bool
    ) throws(RouterError) -> RoutingDecision {
        let estimate = TokenEstimate.promptTokens(request)
        let taskClass = taskClass ?? TaskClass.of(request, estimatedPromptTokens: estimate)
        let staysLocal = request.privacy.staysLocal(protecting: policy.protectedGroups)
        let needsTools = request.toolChoice != .none && !request.tools.isEmpty
        let needsSchema: Bool = if case .jsonSchema = request.responseFormat { true } else { false }
        let answerTokens = request.sampling.maxTokens ?? policy.expectedAnswerTokens
        let needed = estimate + (request.sampling.maxTokens ?? 1)

        let result: Result<RoutingDecision, RouterError> = state.withLock { s in
            var excluded: [RoutingDecision.Exclusion] = []
            var allowed: [(candidate: RouteCandidate, cost: Double)] = []
            for candidate in candidates {
                func exclude(_ reason: String) { excluded.append(.init(candidate: candidate.id, reason: reason)) }
                if let pin = request.pinnedProcessor, pin != candidate.id {
                    exclude("the request asks for \(pin)"); continue
                }
                if policy.mode == .local, candidate.location == .remote {
                    exclude("local mode uses no network"); continue
                }
                if staysLocal, candidate.location == .remote {
                    exclude("the request is \(request.privacy) and stays on this machine"); continue
                }
                if policy.mode == .cloud, !staysLocal, candidate.location == .local {
                    exclude("cloud mode sends public requests to remote processors"); continue
                }
                if needed > candidate.capabilities.contextLength {
                    exclude("needs about \(needed) tokens of context, holds \(candidate.capabilities.contextLength)"); continue
                }
                if needsTools, !candidate.capabilities.tools { exclude("cannot call tools"); continue }
                if needsSchema, !candidate.capabilities.structuredOutput { exclude("cannot follow a JSON Schema"); continue }
                if requirements.vision, !candidate.capabilities.vision { exclude("cannot read images"); continue }
                var cost = 0.0
                if let price = candidate.price {
                    cost = price.cost(promptTokens: estimate, completionTokens: answerTokens)
                    if !s.ledger.allows(cost) {
                        exclude(
                            String(
                                format: "over budget: $%.4f spent or reserved of $%.4f, this request about $%.4f",
                                s.ledger.spent + s.ledger.reserved, s.ledger.limit ?? 0, cost))
                        continue
                    }
                } else if s.ledger.limit != nil {
                    exclude("its price is unknown and a budget is set; give its price in `anima setup`"); continue
                }
                allowed.append((candidate, cost))
            }
            guard !allowed.isEmpty else { return .failure(.noProcessor(excluded: excluded, staysLocal: staysLocal)) }

            var ready: [String] = []
            var busy: [String] = []
            for (candidate, _) in allowed {
                if let load = candidate.load?(), load.queuePosition > policy.localQueueLimit {
                    busy.append(candidate.id)
                } else {
                    ready.append(candidate.id)
                }
            }
            let order = s.bandit.rank(ready, for: taskClass).map(\.candidate) + s.bandit.rank(busy, for: taskClass).map(\.candidate)
            let chosen = order[0]
            let cost = allowed.first { $0.candidate.id == chosen }!.cost
            let id = s.nextID
            s.nextID += 1
            if reserving { s.ledger.reserve(cost, for: id) }

            var reason = "\(chosen) ranked first for \(taskClass) among \(order.count) allowed"
            if staysLocal { reason += "; kept on this machine (\(request.privacy))" }
            if !busy.isEmpty { reason += "; busy: \(busy.joined(separator: ", "))" }
            if !excluded.isEmpty { reason += "; ruled out \(excluded.count)" }
            return .success(
                RoutingDecision(
                    id: id, date: Date(), taskClass: taskClass, privacy: request.privacy, staysLocal: staysLocal, order: order,
                    excluded: excluded, deferred: busy, estimatedPromptTokens: estimate, estimatedCost: cost, reason: reason))
        }
        switch result {
        case .success(let decision):
            log.record(.decided(decision))
            return decision
        case .failure(let error):
            log.record(.failed(decision: 0, error: error.description))
            throw error
        }
    }

    // MARK: - Generating

    /// Decides where `request` goes and starts it there. Use the decision's id to reward
    /// the answer later (`reward(_:_:)`).
    public func start(
        _ request: GenerationRequest, taskClass: TaskClass? = nil, requirements: Requirements = .init()
    ) throws(RouterError) -> RoutedGeneration {
        let decision = try decide(request, taskClass: taskClass, requirements: requirements, reserving: true)
        return RoutedGeneration(decision: decision, events: run(request, decision: decision))
    }

    /// Decides where `request` goes, by its own task class, and starts it there.
    public func route(_ request: GenerationRequest) throws(RouterError) -> RoutedGeneration {
        try start(request, taskClass: nil)
    }

    public func generate(_ request: GenerationRequest) -> AsyncThrowingStream<GenerationEvent, any Error> {
        do {
            return try start(request).events
        } catch {
            return AsyncThrowingStream { $0.finish(throwing: error) }
        }
    }

    private func run(_ request: GenerationRequest, decision: RoutingDecision) -> AsyncThrowingStream<GenerationEvent, any Error> {
        let attempts = Array(decision.order.prefix(policy.maxAttempts))
        let byID = Dictionary(uniqueKeysWithValues: candidates.map { ($0.id, $0) })
        return AsyncThrowingStream { continuation in
            let task = Task {
                var failures: [RoutingDecision.Exclusion] = []
                for (index, id) in attempts.enumerated() {
                    guard let candidate = byID[id] else { continue }
                    if decision.staysLocal, candidate.location == .remote {
                        let error = RouterError.privacyViolation(candidate: id, decision: decision.id)
                        self.finish(decision, servedBy: nil, usage: nil)
                        self.log.record(.failed(decision: decision.id, error: error.description))
                        continuation.finish(throwing: error)
                        return
                    }
                    var produced = false
                    var usage: Usage?
                    do {
                        for try await event in candidate.processor.generate(request) {
                            switch event {
                            case .text, .toolCall: produced = true
                            case .usage(let u): usage = u
                            case .finished: break
                            }
                            continuation.yield(event)
                        }
                        let cost = self.finish(decision, servedBy: candidate, usage: usage)
                        self.log.record(
                            .completed(
                                decision: decision.id, servedBy: id, usage: usage ?? Usage(promptTokens: 0, completionTokens: 0), cost: cost
                            ))
                        continuation.finish()
                        return
                    } catch {
                        if Task.isCancelled || error is CancellationError {
                            self.finish(decision, servedBy: nil, usage: nil)
                            continuation.finish(throwing: CancellationError())
                            return
                        }
                        let message = String(describing: error)
                        let next = index + 1 < attempts.count ? attempts[index + 1] : nil
                        let failsOver = !produced && next != nil && (error as? ProviderError)?.allowsFailover != false
                        if failsOver {
                            self.log.record(.failedOver(decision: decision.id, from: id, to: next, error: message))
                            failures.append(.init(candidate: id, reason: message))
                            continue
                        }
                        self.finish(decision, servedBy: nil, usage: nil)
                        self.log.record(.failed(decision: decision.id, error: message))
                        continuation.finish(
                            throwing: failures.isEmpty ? error : RouterError.allFailed(failures + [.init(candidate: id, reason: message)]))
                        return
                    }
                }
                self.finish(decision, servedBy: nil, usage: nil)
                let error = RouterError.allFailed(failures)
                self.log.record(.failed(decision: decision.id, error: error.description))
                continuation.finish(throwing: error)
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Settles the decision's cost, remembers who served it; returns the actual cost.
    @discardableResult
    private func finish(_ decision: RoutingDecision, servedBy candidate: RouteCandidate?, usage: Usage?) -> Double {
        let cost = candidate.flatMap { c in usage.map { c.price?.cost(of: $0) ?? 0 } } ?? 0
        state.withLock { s in
            s.ledger.settle(decision.id, actual: cost)
            if let candidate {
                s.served[decision.id] = (decision.taskClass, candidate.id)
                s.servedOrder.append(decision.id)
                if s.servedOrder.count > Self.rememberedDecisions {
                    let old = s.servedOrder.removeFirst()
                    s.served[old] = nil
                }
            }
        }
        return cost
    }

    // MARK: - Learning

    /// Rewards the answer of a decision: 1 for good (tests passed, the user accepted it),
    /// 0 for bad, or anything between. The model that served it learns from it.
    public func reward(_ decision: UInt64, _ reward: Double) throws(RouterError) {
        let served: (taskClass: TaskClass, candidate: String)? = state.withLock { s in
            guard let served = s.served[decision] else { return nil }
            s.bandit.update(served.candidate, for: served.taskClass, reward: reward)
            return served
        }
        guard let served else { throw .unknownDecision(decision) }
        log.record(.rewarded(decision: decision, taskClass: served.taskClass, candidate: served.candidate, reward: reward))
    }

    /// Rewards a model on a task class directly (for outcomes learned elsewhere).
    public func reward(_ candidate: String, for taskClass: TaskClass, _ reward: Double) {
        state.withLock { $0.bandit.update(candidate, for: taskClass, reward: reward) }
        log.record(.rewarded(decision: nil, taskClass: taskClass, candidate: candidate, reward: reward))
    }

    /// Everything learned so far, to give to the next router (`init(learned:)`).
    public var learned: [TaskClass: [String: ThompsonSampler.Belief]] { state.withLock { $0.bandit.learned } }

    // MARK: - Spending

    /// Dollars spent on paid models, and reserved for requests in flight.
    public var spending: (spent: Double, reserved: Double, budget: Double?) {
        state.withLock { ($0.ledger.spent, $0.ledger.reserved, $0.ledger.limit) }
    }

    /// Starts a new budget period.
    public func resetSpending() { state.withLock { $0.ledger.reset() } }

    // MARK: - Counting

    /// Counts with the first local processor (exact for the model that serves private
    /// requests), else, for requests that may leave the machine, with the first remote
    /// candidate that can count.
    public func countTokens(_ request: GenerationRequest) async throws -> Int {
        let mayLeave = policy.mode != .local && !request.privacy.staysLocal(protecting: policy.protectedGroups)
        var lastError: (any Error)?
        for candidate in candidates.filter({ $0.location == .local }) + (mayLeave ? candidates.filter { $0.location == .remote } : []) {
            do { return try await candidate.processor.countTokens(request) } catch { lastError = error }
        }
        throw lastError ?? RouterError.noProcessor(excluded: [], staysLocal: !mayLeave)
    }

    /// Counts with the first local processor; unlabelled text never leaves the machine.
    public func countTokens(text: String) async throws -> Int {
        var lastError: (any Error)?
        for candidate in candidates where candidate.location == .local {
            do { return try await candidate.processor.countTokens(text: text) } catch { lastError = error }
        }
        throw lastError ?? RouterError.noProcessor(excluded: [], staysLocal: true)
    }
}
