import AnimaCore
import Foundation
import Testing

@testable import AnimaLlama

/// llama.cpp's CPU code is chosen when Anima starts, for the CPU it runs on (issue 24): setup
/// builds every variant of ggml's CPU backend, and the engine loads the best one this CPU
/// can run from libllama's own folder.
@Suite("CPU code chosen at run time", .serialized)
struct CPUBackendTests {
    /// The feature flags the kernel reports for this CPU.
    static let cpuFlags: Set<String> = {
        let info = ProcFile.read("/proc/cpuinfo") ?? ""
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

    /// The variant is chosen from what the kernel reports, never from CPUID alone.
    @Test func theChoiceFollowsWhatTheKernelReports() {
        let files = CPUBackend.x86Variants.map { "libggml-cpu-\($0.name).so" } + ["libllama.so", "libggml-base.so"]
        let zen4: Set<String> = [
            "sse4_2", "avx", "f16c", "fma", "avx2", "bmi2", "avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw",
            "avx512vbmi", "avx512_vnni", "avx512_bf16",
        ]
        #expect(CPUBackend.x86Variant(files: files, cpuFlags: zen4) == "libggml-cpu-zen4.so")
        // A VM whose CPUID says AVX-512 but whose kernel did not enable it: /proc/cpuinfo has
        // no avx512 flags, and the AVX2 code is chosen rather than one that would die of SIGILL.
        #expect(CPUBackend.x86Variant(files: files, cpuFlags: zen4.filter { !$0.hasPrefix("avx512") }) == "libggml-cpu-haswell.so")
        #expect(CPUBackend.x86Variant(files: files, cpuFlags: zen4.union(["amx_tile", "amx_int8"])) == "libggml-cpu-sapphirerapids.so")
        #expect(CPUBackend.x86Variant(files: files, cpuFlags: ["sse4_2", "sse3"]) == "libggml-cpu-sse42.so")
        #expect(CPUBackend.x86Variant(files: files, cpuFlags: []) == "libggml-cpu-x64.so")
        // Only what is installed: without the zen4 module, the best of the rest.
        #expect(CPUBackend.x86Variant(files: files.filter { !$0.contains("zen4") }, cpuFlags: zen4) == "libggml-cpu-cooperlake.so")
        // An Arm build, or a library with its CPU code inside: ggml chooses.
        #expect(CPUBackend.x86Variant(files: ["libggml-cpu-armv8.2_1.so"], cpuFlags: []) == nil)
        #expect(CPUBackend.x86Variant(files: ["libllama.so"], cpuFlags: zen4) == nil)
        #expect(CPUBackend.cpuFlags("processor\t: 0\nflags\t\t: fpu avx2 avx512f\nbugs\t\t: none\n") == ["fpu", "avx2", "avx512f"])
    }
}
