import AnimaKernel
import AnimaLlama
import AnimaProcessor
import Foundation
import Testing

/// The default model that `make setup` installs. Its absence fails the tests: the suite
/// exists to run on the real model, so skipping would hide a broken setup.
enum TestModel {
    static var path: String {
        let env = ProcessInfo.processInfo.environment
        if let path = env["ANIMA_MODEL"], !path.isEmpty { return path }
        let cache =
            env["ANIMA_CACHE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.cache") + "/anima"
        return cache + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    }

    static func requirePath() throws -> String {
        try #require(FileManager.default.fileExists(atPath: path), "the default model is missing at \(path); run `make setup`")
        return path
    }

    /// One engine for the whole suite: loading is cheap, but the suite is serialized so
    /// that tests comparing concurrent and sequential runs see only their own requests.
    static let shared = Task<LlamaEngine, any Error> {
        try await LlamaEngine.load(.init(modelPath: try requirePath(), slots: 8, contextLength: 2048, scheduler: Scheduler()))
    }

    static func engine() async throws -> LlamaEngine { try await shared.value }
}
