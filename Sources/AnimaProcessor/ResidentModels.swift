import AnimaCore

/// Several models behind one processor: each loaded when a request first needs it, and the
/// least recently used unloaded when another must come in and the limit is reached.
///
/// A request names its model with `GenerationRequest.model` (nil: the default). At most
/// `maxModels` are resident, and their sizes together stay within `memoryBudget` when one
/// is set. A model is unloaded only while no generation of its runs: a request that needs
/// room while every resident model is busy waits for one to finish, and a request for a
/// model being loaded or unloaded waits for that to end, then goes on. Nothing is dropped.
public final class ResidentModels: LanguageModel, Sendable {
    /// A model the processor may load.
    public struct Model: Sendable, Hashable {
        public var name: String
        /// What it costs resident (for a GGUF, about its file size).
        public var bytes: Int
        public var contextLength: Int
        public var toolCallSyntax: ToolCallSyntax?

        public init(name: String, bytes: Int, contextLength: Int, toolCallSyntax: ToolCallSyntax? = nil) {
            self.name = name
            self.bytes = bytes
            self.contextLength = contextLength
            self.toolCallSyntax = toolCallSyntax
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case unknownModel(String, known: [String])
        case invalidLimits(String)
        case tooLarge(String, bytes: Int, budget: Int)

        public var description: String {
            switch self {
            case .unknownModel(let name, let known):
                "no model named \(name) here; the models are \(known.joined(separator: ", ")) (add one with `anima models add`)"
            case .invalidLimits(let why): why
            case .tooLarge(let name, let bytes, let budget):
                "\(name) needs \(bytes >> 20) MiB, more than the whole model memory budget of \(budget >> 20) MiB; raise the budget"
            }
        }
    }

    /// Loads and unloads; counted for `anima top` and tests.
    public struct Counters: Sendable, Hashable {
        public var loads = 0
        public var unloads = 0

        public init(loads: Int = 0, unloads: Int = 0) {
            self.loads = loads
            self.unloads = unloads
        }
    }

    public let info: ModelInfo
    public let models: [Model]
    public let defaultModel: String
    public let maxModels: Int
    public let memoryBudget: Int?
    private let residency: Residency

    /// - Parameters:
    ///   - models: what may be loaded; the first is the default.
    ///   - maxModels: how many may be resident at once (at least 1).
    ///   - memoryBudget: bytes the resident models may take together; nil: no limit.
    ///   - load: loads a model by name (blocking work belongs on its own thread).
    ///   - unload: releases what `load` returned (for the local engine, `shutdown()`).
    public init(
        models: [Model], maxModels: Int, memoryBudget: Int? = nil,
        load: @escaping @Sendable (Model) async throws -> any LanguageModel,
        unload: @escaping @Sendable (any LanguageModel) async -> Void = { _ in }
    ) throws(Failure) {
        guard let first = models.first else { throw .invalidLimits("there is no model to serve; install one with `anima models add`") }
        guard maxModels >= 1 else { throw .invalidLimits("at least one model must be resident (--max-models 1 or more), not \(maxModels)") }
        guard Set(models.map(\.name)).count == models.count else { throw .invalidLimits("two models have the same name") }
        if let memoryBudget {
            guard memoryBudget > 0 else { throw .invalidLimits("the model memory budget must be above 0 bytes") }
            if let big = models.first(where: { $0.bytes > memoryBudget }) {
                throw .tooLarge(big.name, bytes: big.bytes, budget: memoryBudget)
            }
        }
        self.models = models
        self.defaultModel = first.name
        self.maxModels = maxModels
        self.memoryBudget = memoryBudget
        var info = ModelInfo(name: first.name, contextLength: first.contextLength, toolCallSyntax: first.toolCallSyntax)
        info.models = models.map(\.name)
        self.info = info
        residency = Residency(maxModels: maxModels, memoryBudget: memoryBudget, load: load, unload: unload)
    }

    /// The models resident now, most recently used first.
    public func resident() async -> [String] { await residency.residentNames() }

    public func counters() async -> Counters { await residency.counters }

    func model(for request: GenerationRequest) throws(Failure) -> Model {
        let name = request.model ?? defaultModel
        guard let model = models.first(where: { $0.name == name }) else { throw .unknownModel(name, known: models.map(\.name)) }
        return model
    }

    public func generate(_ request: GenerationRequest) -> AsyncThrowingStream<GenerationEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<GenerationEvent, any Error>.makeStream()
        let task = Task { [residency] in
            do {
                let chosen = try model(for: request)
                let processor = try await residency.acquire(chosen)
                do {
                    for try await event in processor.generate(request) { continuation.yield(event) }
                    await residency.release(chosen.name)
                    continuation.finish()
                } catch {
                    await residency.release(chosen.name)
                    throw error
                }
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    public func countTokens(_ request: GenerationRequest) async throws -> Int {
        let chosen = try model(for: request)
        let processor = try await residency.acquire(chosen)
        defer { Task { [residency] in await residency.release(chosen.name) } }
        return try await processor.countTokens(request)
    }

    /// Counts with the default model's tokenizer.
    public func countTokens(text: String) async throws -> Int {
        let chosen = models[0]
        let processor = try await residency.acquire(chosen)
        defer { Task { [residency] in await residency.release(chosen.name) } }
        return try await processor.countTokens(text: text)
    }

    /// Unloads every idle model (at shutdown, or to free memory now).
    public func unloadIdle() async { await residency.unloadIdle() }
}

/// The state behind `ResidentModels`: which models are loading, resident or unloading.
private actor Residency {
    enum State {
        case loading(Task<any LanguageModel, any Error>, bytes: Int)
        case resident(any LanguageModel, bytes: Int, active: Int, lastUsed: UInt64)
        case unloading(Task<Void, Never>, bytes: Int)

        var bytes: Int {
            switch self {
            case .loading(_, let b), .resident(_, let b, _, _), .unloading(_, let b): b
            }
        }
    }

    let maxModels: Int
    let memoryBudget: Int?
    let load: @Sendable (ResidentModels.Model) async throws -> any LanguageModel
    let unload: @Sendable (any LanguageModel) async -> Void
    var states: [String: State] = [:]
    var clock: UInt64 = 0
    var counters = ResidentModels.Counters()
    /// Requests waiting for a busy model to finish so that another can be unloaded.
    var waiting: [CheckedContinuation<Void, Never>] = []

    init(
        maxModels: Int, memoryBudget: Int?, load: @escaping @Sendable (ResidentModels.Model) async throws -> any LanguageModel,
        unload: @escaping @Sendable (any LanguageModel) async -> Void
    ) {
        self.maxModels = maxModels
        self.memoryBudget = memoryBudget
        self.load = load
        self.unload = unload
    }

    func residentNames() -> [String] {
        states.compactMap { name, state -> (String, UInt64)? in
            if case .resident(_, _, _, let used) = state { return (name, used) }
            return nil
        }.sorted { $0.1 > $1.1 }.map(\.0)
    }

    /// The model, resident and marked busy until `release`.
    ///
    /// Every wait is on `waiting`, woken by each change that can unblock it (a load ends, an
    /// unload ends, a model falls idle): never a spin on a task that already ended.
    func acquire(_ model: ResidentModels.Model) async throws -> any LanguageModel {
        while true {
            try Task.checkCancellation()
            switch states[model.name] {
            case .resident(let processor, let bytes, let active, _)?:
                clock += 1
                states[model.name] = .resident(processor, bytes: bytes, active: active + 1, lastUsed: clock)
                return processor
            case .loading?, .unloading?:
                await change()
            case nil:
                guard fits(model) else {
                    let idle = states.compactMap { name, state -> (String, UInt64)? in
                        if case .resident(_, _, 0, let used) = state { return (name, used) }
                        return nil
                    }
                    if let victim = idle.min(by: { $0.1 < $1.1 })?.0 {
                        await evict(victim)
                    } else {
                        // Every other model is busy, loading or unloading: wait for one to change.
                        await change()
                    }
                    continue
                }
                let task = Task { [load] in try await load(model) }
                states[model.name] = .loading(task, bytes: model.bytes)
                do {
                    let processor = try await task.value
                    counters.loads += 1
                    states[model.name] = .resident(processor, bytes: model.bytes, active: 0, lastUsed: clock)
                } catch {
                    states[model.name] = nil
                    wakeWaiters()
                    throw error
                }
                wakeWaiters()
            }
        }
    }

    /// Returns after the next change of state that may let a waiting request go on.
    private func change() async {
        await withCheckedContinuation { waiting.append($0) }
    }

    private func fits(_ model: ResidentModels.Model) -> Bool {
        guard states.count + 1 <= maxModels else { return false }
        guard let memoryBudget else { return true }
        return states.values.reduce(0) { $0 + $1.bytes } + model.bytes <= memoryBudget
    }

    private func evict(_ name: String) async {
        guard case .resident(let processor, let bytes, 0, _) = states[name] else { return }
        let task = Task { [unload] in await unload(processor) }
        states[name] = .unloading(task, bytes: bytes)
        await task.value
        states[name] = nil
        counters.unloads += 1
        wakeWaiters()
    }

    func release(_ name: String) {
        guard case .resident(let processor, let bytes, let active, _) = states[name] else { return }
        clock += 1
        states[name] = .resident(processor, bytes: bytes, active: max(0, active - 1), lastUsed: clock)
        if active == 1 { wakeWaiters() }
    }

    func unloadIdle() async {
        for (name, state) in states {
            if case .resident(_, _, 0, _) = state { await evict(name) }
        }
    }

    private func wakeWaiters() {
        let all = waiting
        waiting = []
        for continuation in all { continuation.resume() }
    }
}
