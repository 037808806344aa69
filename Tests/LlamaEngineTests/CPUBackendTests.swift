import AnimaLlama
import Foundation
import Testing

/// llama.cpp's CPU code is chosen when Anima starts, for the CPU it runs on (issue 24): setup
/// builds every variant of ggml's CPU backend, and the engine loads the best one this CPU
/// can run from libllama's own folder.
@Suite("CPU code chosen at run time", .serialized)
struct CPUBackendTests {
    /// The feature flags the kernel reports for this CPU.
    static let cpuFlags: Set<String> = {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = info.split(separator: "\n").first { $0.hasPrefix("flags") || $0.hasPrefix("Features") } ?? ""
        return Set(line.split(separator: ":").last?.split(separator: " ").map(String.init) ?? [])
    }()

    @Test func theVariantLoadedUsesWhatThisCPUHas() async throws {
        _ = try await TestModel.engine()
        let backend = try #require(LlamaEngine.cpuBackend)
        let features = Set(backend.features)
        #expect(!features.isEmpty)
        // x86: each instruction set the CPU has is used, and none it lacks (an illegal
        // instruction would have crashed the suite already, but a lesser variant would not).
        for (feature, flag) in [("AVX2", "avx2"), ("AVX512", "avx512f"), ("AVX512_VNNI", "avx512_vnni"), ("AVX512_VBMI", "avx512vbmi")]
        where Self.cpuFlags.contains("avx") {
            #expect(features.contains(feature) == Self.cpuFlags.contains(flag), "\(feature): \(backend), CPU flags have \(flag): \(Self.cpuFlags.contains(flag))")
        }
        if features.contains("AMX_INT8") { #expect(Self.cpuFlags.contains("amx_int8"), "AMX code loaded on a CPU without it") }
    }

    @Test func setupInstalledEveryVariantBesideTheLibrary() async throws {
        _ = try await TestModel.engine()
        let backend = try #require(LlamaEngine.cpuBackend)
        let modules = try FileManager.default.contentsOfDirectory(atPath: backend.folder)
            .filter { $0.hasPrefix("libggml-cpu-") && $0.hasSuffix(".so") }
        // A build with the CPU code inside the library (no dispatch) has none; the x86
        // build has over ten (x64 to sapphirerapids), the Arm build several.
        #expect(modules.count > 3, "\(backend.folder): \(modules)")
        #expect(FileManager.default.fileExists(atPath: backend.folder + "/libllama.so"))
    }
}
