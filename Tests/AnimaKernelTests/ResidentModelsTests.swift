import AnimaCore
import AnimaProcessor
import AnimaTesting
import Synchronization
import Testing

/// A model whose generations wait for `open()` before they answer, so tests can hold one
/// busy while others arrive.
final class GatedModel: LanguageModel {
    let info: ModelInfo
    private let gate = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    init(name: String) { info = ModelInfo(name: name, contextLength: 4096) }

    func open() {
        let waiters = gate.withLock { g in
            g.open = true
            defer { g.waiters = [] }
            return g.waiters
        }
        for w in waiters { w.resume() }
    }

    func generate(_ request: GenerationRequest) -> AsyncThrowingStream<GenerationEvent, any Error> {
        AsyncThrowingStream { continuation in
            Task { [self] in
                await withCheckedContinuation { c in
                    let ready = gate.withLock { g in
                        if g.open { return true }
                        g.waiters.append(c)
                        return false
                    }
                    if ready { c.resume() }
                }
                continuation.yield(.text(info.name))
                continuation.yield(.finished(.stop))
                continuation.finish()
            }
        }
    }

    func countTokens(_ request: GenerationRequest) async throws -> Int { 1 }
    func countTokens(text: String) async throws -> Int { 1 }
}

@Suite("Resident models")
struct ResidentModelsTests {
    /// Loads are recorded in order; each load makes a fresh model that answers its name.
    final class Loader: Sendable {
        let log = Mutex<[String]>([])
        let gated = Mutex<[String: GatedModel]>([:])
        let failNext = Mutex(false)
        let unloadDelay: Duration

        init(unloadDelay: Duration = .zero) { self.unloadDelay = unloadDelay }

        func load(_ model: ResidentModels.Model) async throws -> any LanguageModel {
            if failNext.withLock({ f in
                defer { f = false }; return f
            }) {
                throw ProcessorError.modelNotFound(path: model.name)
            }
            log.withLock { $0.append("load \(model.name)") }
            if model.name.hasPrefix("gated") {
                let m = GatedModel(name: model.name)
                gated.withLock { $0[model.name] = m }
                return m
            }
            return ScriptedModel(name: model.name) { _ in .text(model.name) }
        }

        func unload(_ model: any LanguageModel) async {
            log.withLock { $0.append("unload \(model.info.name)") }
            if unloadDelay > .zero { try? await Task.sleep(for: unloadDelay) }
        }
    }

    static func pool(
        _ names: [String], max: Int, budget: Int? = nil, bytes: Int = 100, loader: Loader
    ) throws -> ResidentModels {
        try ResidentModels(
            models: names.map { .init(name: $0, bytes: bytes, contextLength: 4096) }, maxModels: max, memoryBudget: budget,
            load: { try await loader.load($0) }, unload: { await loader.unload($0) })
    }

    static func ask(_ pool: ResidentModels, _ model: String?) async throws -> String {
        var request = GenerationRequest(messages: [.user("hi")])
        request.model = model
        return try await pool.generate(request).collect().text
    }

    @Test func theLeastRecentlyUsedModelIsUnloadedWhenAnotherIsNeeded() async throws {
        let loader = Loader()
        let pool = try Self.pool(["a", "b", "c"], max: 2, loader: loader)
        #expect(try await Self.ask(pool, nil) == "a")  // the first model is the default
        #expect(try await Self.ask(pool, "b") == "b")
        #expect(try await Self.ask(pool, "a") == "a")  // a is now the most recent
        #expect(try await Self.ask(pool, "c") == "c")  // b goes
        #expect(await pool.resident() == ["c", "a"])
        #expect(loader.log.withLock { $0 } == ["load a", "load b", "unload b", "load c"])
        #expect(await pool.counters() == .init(loads: 3, unloads: 1))
        #expect(try await Self.ask(pool, "a") == "a")
        #expect(await pool.counters().loads == 3)  // still resident: no reload
    }

    @Test func aMemoryBudgetHoldsFewerModelsThanTheCount() async throws {
        let loader = Loader()
        let pool = try Self.pool(["a", "b"], max: 5, budget: 150, bytes: 100, loader: loader)
        _ = try await Self.ask(pool, "a")
        _ = try await Self.ask(pool, "b")
        #expect(await pool.resident() == ["b"])
        #expect(await pool.counters() == .init(loads: 2, unloads: 1))
    }

    @Test func aBusyModelIsNeverUnloadedTheOtherRequestWaits() async throws {
        let loader = Loader()
        let pool = try Self.pool(["gated-a", "b"], max: 1, loader: loader)
        let first = Task { try await Self.ask(pool, "gated-a") }
        // Wait until gated-a is resident and busy.
        while loader.gated.withLock({ $0["gated-a"] }) == nil { await Task.yield() }
        let second = Task { try await Self.ask(pool, "b") }
        try await Task.sleep(for: .milliseconds(50))
        #expect(loader.log.withLock { $0 } == ["load gated-a"])  // b waits; gated-a stays
        loader.gated.withLock { $0["gated-a"] }!.open()
        #expect(try await first.value == "gated-a")
        #expect(try await second.value == "b")
        #expect(loader.log.withLock { $0 } == ["load gated-a", "unload gated-a", "load b"])
    }

    @Test func requestsToAModelBeingUnloadedWaitAndReloadIt() async throws {
        let loader = Loader(unloadDelay: .milliseconds(100))
        let pool = try Self.pool(["a", "b"], max: 1, loader: loader)
        _ = try await Self.ask(pool, "a")
        // b unloads a (slowly); requests for a arrive meanwhile, and for b too.
        let results = try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask { try await Self.ask(pool, "b") }
            for i in 0..<6 {
                group.addTask {
                    try await Task.sleep(for: .milliseconds(10 * i))
                    return try await Self.ask(pool, i.isMultiple(of: 2) ? "a" : "b")
                }
            }
            var all: [String] = []
            for try await r in group { all.append(r) }
            return all
        }
        #expect(results.sorted() == ["a", "a", "a", "b", "b", "b", "b"])
        let log = loader.log.withLock { $0 }
        // Never two resident at once: every load after the first follows an unload.
        var resident = 0
        for line in log {
            resident += line.hasPrefix("load") ? 1 : -1
            #expect(resident <= 1 && resident >= 0, "\(log)")
        }
    }

    @Test func concurrentRequestsToTwoResidentModelsRunTogether() async throws {
        let loader = Loader()
        let pool = try Self.pool(["gated-a", "gated-b"], max: 2, loader: loader)
        let a = Task { try await Self.ask(pool, "gated-a") }
        let b = Task { try await Self.ask(pool, "gated-b") }
        while loader.gated.withLock({ $0.count }) < 2 { await Task.yield() }
        // Both are loaded and generating at once; neither waits for the other.
        for m in loader.gated.withLock({ Array($0.values) }) { m.open() }
        #expect(try await a.value == "gated-a")
        #expect(try await b.value == "gated-b")
        #expect(await pool.counters() == .init(loads: 2, unloads: 0))
    }

    @Test func badNamesLimitsAndLoadsFailClearly() async throws {
        let loader = Loader()
        let pool = try Self.pool(["a"], max: 1, loader: loader)
        await #expect(throws: ResidentModels.Failure.self) { try await Self.ask(pool, "nope") }
        do {
            _ = try await Self.ask(pool, "nope")
        } catch {
            #expect("\(error)".contains("no model named nope") && "\(error)".contains("a"))
        }
        #expect(throws: ResidentModels.Failure.self) { try Self.pool(["a"], max: 0, loader: loader) }
        #expect(throws: ResidentModels.Failure.self) { try Self.pool([], max: 1, loader: loader) }
        #expect(throws: ResidentModels.Failure.self) { try Self.pool(["a", "a"], max: 2, loader: loader) }
        #expect(throws: ResidentModels.Failure.self) { try Self.pool(["a"], max: 1, budget: 10, bytes: 100, loader: loader) }
        #expect(throws: ResidentModels.Failure.self) { try Self.pool(["a"], max: 1, budget: -1, loader: loader) }
        // A load that fails leaves nothing half-loaded: the next request loads again.
        loader.failNext.withLock { $0 = true }
        await #expect(throws: ProcessorError.self) { try await Self.ask(pool, "a") }
        #expect(try await Self.ask(pool, "a") == "a")
    }
}
