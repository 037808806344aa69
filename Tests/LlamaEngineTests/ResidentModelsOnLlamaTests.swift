import AnimaCore
import AnimaKernel
import AnimaProcessor
import Foundation
import Testing

@testable import AnimaLlama

/// Two real models behind one processor: SmolLM2 and Qwen2.5-Coder-0.5B.
@Suite("Resident models on llama.cpp", .serialized)
struct ResidentModelsOnLlamaTests {
    static func pool(max: Int) throws -> ResidentModels {
        let smol = try TestModel.requirePath()
        let qwen = SpeculativeDecoderTests.qwen05
        try #require(
            FileManager.default.fileExists(atPath: qwen), "missing \(qwen); run `./scripts/setup.sh --with-model qwen2.5-coder-0.5b`")
        let paths = ["smollm2": smol, "qwen": qwen]
        func size(_ path: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0 }
        return try ResidentModels(
            models: [
                .init(name: "smollm2", bytes: size(smol), contextLength: 512),
                .init(name: "qwen", bytes: size(qwen), contextLength: 512),
            ],
            maxModels: max,
            load: { model in
                try await LlamaEngine.load(.init(modelPath: paths[model.name]!, slots: 2, contextLength: 512, scheduler: Scheduler()))
            },
            unload: { ($0 as? LlamaEngine)?.shutdown() })
    }

    static func ask(_ pool: ResidentModels, _ model: String) async throws -> GenerationResult {
        var request = GenerationRequest(messages: [.user("Name a colour.")], sampling: .greedy(maxTokens: 8))
        request.model = model
        return try await pool.generate(request).collect()
    }

    @Test func concurrentRequestsToTwoModelsWithRoomForOneBothAnswer() async throws {
        let pool = try Self.pool(max: 1)
        async let smol = Self.ask(pool, "smollm2")
        async let qwen = Self.ask(pool, "qwen")
        let (a, b) = try await (smol, qwen)
        #expect(a.usage.completionTokens > 0 && b.usage.completionTokens > 0)
        #expect(await pool.counters() == .init(loads: 2, unloads: 1))
        #expect(await pool.resident().count == 1)
        // Each model answers as it does alone, whichever order they ran in.
        let again = try await Self.ask(pool, "smollm2")
        #expect(again.text == a.text)
    }

    @Test func withRoomForTwoBothStayResident() async throws {
        let pool = try Self.pool(max: 2)
        async let smol = Self.ask(pool, "smollm2")
        async let qwen = Self.ask(pool, "qwen")
        _ = try await (smol, qwen)
        _ = try await Self.ask(pool, "smollm2")
        #expect(await pool.counters() == .init(loads: 2, unloads: 0))
        #expect(await pool.resident() == ["smollm2", "qwen"])
        await pool.unloadIdle()
        #expect(await pool.resident().isEmpty)
    }
}
