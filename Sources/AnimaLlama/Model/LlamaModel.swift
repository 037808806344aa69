import AnimaCore
import AnimaProcessor
import CLlama
import Foundation
import Synchronization

/// Loaded GGUF weights and their vocabulary. Read-only after loading, so tokenisation may
/// run on any thread (llama.cpp documents its tokenizer as thread-safe).
final class LlamaModel: @unchecked Sendable {
    let pointer: OpaquePointer
    let vocab: OpaquePointer
    let file: GGUFFile
    let trainedContextLength: Int
    let vocabularySize: Int32
    let addsBeginningToken: Bool
    /// Every token that ends a turn (end of sequence, end of turn, and the like).
    let endOfGenerationTokens: [llama_token]
    /// Where its layers went (`OffloadPlan`).
    let offload: OffloadPlan

    /// What decides the GPU layers: the sequences the context holds and each one's length
    /// (nil: the trained context, at most 4096), and the user's `n_gpu_layers` (nil: as
    /// many as fit).
    struct Placement {
        var sequences: Int
        var contextLength: Int?
        var gpuLayers: Int?
    }

    /// Loads the weights on the calling thread (blocking); `progress` sees 0...1.
    /// - Parameter generating: refuse an embedding-only model, which llama.cpp would load and
    ///   then crash on at the first decode (it has no logits to sample).
    /// - Parameter placement: offload layers to GPUs where some are present; nil: CPU only.
    init(
        path: String, progress: (@Sendable (Double) -> Void)?, generating: Bool = false, placement: Placement? = nil
    ) throws(ProcessorError) {
        file = try GGUFFile(path: path)
        if generating, file.isEmbeddingOnly {
            throw .invalidModelFile(
                path: path,
                reason:
                    "it is an embedding model (\(file.architecture ?? "an encoder")) that turns text into vectors and cannot generate text; "
                    + "give it as --embedding-model (anima serve) and a chat model as --model")
        }
        try LlamaRuntime.initialize()
        var params = llama_model_default_params()
        let file = self.file
        offload =
            placement.map { p in
                let context = p.contextLength ?? min(Int(clamping: file.contextLength ?? 4096), 4096)
                let kv = file.kvBytesPerTokenPerLayer.multipliedReportingOverflow(by: max(0, p.sequences) &* max(0, context))
                return OffloadPlan.plan(
                    weightBytes: Int(clamping: file.fileSize), layerCount: file.layerCount,
                    kvBytesPerLayer: kv.overflow ? .max : kv.partialValue,
                    targets: ComputeDevice.offloadTargets((try? ComputeDevice.all()) ?? []), requested: p.gpuLayers)
            } ?? .none
        params.n_gpu_layers = Int32(clamping: offload.gpuLayers)
        let box = progress.map { ProgressBox($0) }
        if let box {
            params.progress_callback = { value, context in
                Unmanaged<ProgressBox>.fromOpaque(context!).takeUnretainedValue().report(Double(value))
                return true
            }
            params.progress_callback_user_data = Unmanaged.passUnretained(box).toOpaque()
        }
        let loaded: OpaquePointer? = withExtendedLifetime(box) {
            LlamaRuntime.capturingErrors { llama_model_load_from_file(path, params) }
        }
        guard let loaded else {
            throw .invalidModelFile(path: path, reason: LlamaRuntime.lastErrors() ?? "llama.cpp could not load it")
        }
        pointer = loaded
        vocab = llama_model_get_vocab(loaded)
        trainedContextLength = Int(llama_model_n_ctx_train(loaded))
        vocabularySize = llama_vocab_n_tokens(vocab)
        addsBeginningToken = llama_vocab_get_add_bos(vocab)
        let vocab = self.vocab
        endOfGenerationTokens = (0..<vocabularySize).filter { llama_vocab_is_eog(vocab, $0) }
    }

    deinit { llama_model_free(pointer) }

    var name: String {
        URL(fileURLWithPath: file.path).deletingPathExtension().lastPathComponent
    }

    /// The Jinja chat template stored in the file, if any.
    var builtInChatTemplate: String? {
        llama_model_chat_template(pointer, nil).map { String(cString: $0) }
    }

    /// Tokenises `text`. With `parseSpecial` off, text such as `<|im_start|>` is read as
    /// plain characters: untrusted content can never forge a control token.
    func tokenize(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [llama_token] {
        let key = TokenCache.Key(text: text, addSpecial: addSpecial, parseSpecial: parseSpecial)
        if let tokens = tokenCache.withLock({ $0.tokens(for: key) }) { return tokens }
        let tokens = tokenizeUncached(text, addSpecial: addSpecial, parseSpecial: parseSpecial)
        tokenCache.withLock { $0.insert(tokens, for: key) }
        return tokens
    }

    private let tokenCache = Mutex(TokenCache())

    func tokenizeUncached(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [llama_token] {
        let utf8 = Array(text.utf8)
        if utf8.isEmpty && !addSpecial { return [] }
        var capacity = utf8.count + 8
        while true {
            var tokens = [llama_token](repeating: 0, count: capacity)
            let n = utf8.withUnsafeBufferPointer { bytes in
                bytes.withMemoryRebound(to: CChar.self) { chars in
                    llama_tokenize(vocab, chars.baseAddress, Int32(chars.count), &tokens, Int32(capacity), addSpecial, parseSpecial)
                }
            }
            if n >= 0 { return Array(tokens.prefix(Int(n))) }
            if n == Int32.min { return [] }
            capacity = Int(-n)
        }
    }

    /// The bytes a token stands for. Control tokens render as nothing; a piece may be part
    /// of a UTF-8 character, so callers assemble bytes, not strings.
    func piece(_ token: llama_token) -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: 64)
        var n = llama_token_to_piece(vocab, token, &buffer, 64, 0, false)
        if n < 0 {
            buffer = [CChar](repeating: 0, count: Int(-n))
            n = llama_token_to_piece(vocab, token, &buffer, -n, 0, false)
        }
        return buffer.prefix(Int(max(n, 0))).map { UInt8(bitPattern: $0) }
    }

    func isEndOfGeneration(_ token: llama_token) -> Bool { llama_vocab_is_eog(vocab, token) }

    private final class ProgressBox: @unchecked Sendable {
        let report: @Sendable (Double) -> Void
        init(_ report: @escaping @Sendable (Double) -> Void) { self.report = report }
        func report(_ value: Double) { report(value) }
    }
}

/// Process-wide llama.cpp state: backend initialisation and the log, which is kept quiet
/// and remembered so that a failure can say what llama.cpp complained about.
enum LlamaRuntime {
    private static let once: Result<CPUBackend, ProcessorError> = {
        // The batch-invariant attention kernel (scripts/llama.cpp-fa-reference.patch);
        // a user who sets the variable, to anything, keeps their choice.
        setenv("GGML_CPU_FA_REFERENCE", "1", 0)
        llama_log_set(
            { level, text, _ in
                guard let text else { return }
                LlamaRuntime.record(level: level, text: String(cString: text))
            }, nil)
        // ggml's CPU code comes as modules, one per instruction-set level, installed beside
        // libllama; the best one this CPU can run is loaded from there by path. Loaded before
        // llama_backend_init, which would otherwise search the executable's folder and the
        // working directory, where anyone who can write could plant a library.
        let loaded = CPUBackend.load()
        llama_backend_init()
        return loaded
    }()

    private static let recent = Mutex<[String]>([])
    private static let echo = ProcessInfo.processInfo.environment["ANIMA_LLAMA_LOG"] == "1"

    /// Loads llama.cpp's backends once per process; fails when no CPU code could be loaded.
    static func initialize() throws(ProcessorError) { _ = try once.get() }

    /// The CPU code llama.cpp runs on, once `initialize()` has succeeded.
    static var cpuBackend: CPUBackend? { try? once.get() }

    /// Keeps a log line from llama.cpp, ggml or whisper.cpp (which share ggml's log hook).
    static func record(level: ggml_log_level, text: String) {
        if echo { FileHandle.standardError.write(Data(text.utf8)) }
        guard level == GGML_LOG_LEVEL_ERROR || level == GGML_LOG_LEVEL_WARN else { return }
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !line.isEmpty else { return }
        recent.withLock { lines in
            lines.append(line)
            if lines.count > 16 { lines.removeFirst(lines.count - 16) }
        }
    }

    /// Runs `body` with a fresh error log, so `lastErrors()` reports only what it caused.
    static func capturingErrors<T>(_ body: () -> T) -> T {
        recent.withLock { $0.removeAll() }
        return body()
    }

    /// The last error lines llama.cpp logged, joined, or nil when it logged none.
    static func lastErrors() -> String? {
        let lines = recent.withLock { $0 }.filter { !$0.hasPrefix("llama_model_load_from_file_impl: failed") }
        return lines.isEmpty ? nil : lines.suffix(3).joined(separator: "; ")
    }
}

/// The variant of ggml's CPU backend loaded for this machine, and what it was built to use.
public struct CPUBackend: Sendable, Hashable, CustomStringConvertible {
    /// The folder the variants are loaded from (libllama's own).
    public let folder: String
    /// The instruction-set features the loaded variant uses ("AVX2", "AVX512", "AVX512_VNNI"…),
    /// as ggml reports them; with the per-CPU dispatch build these follow the CPU it runs on.
    public let features: [String]

    public var description: String { "CPU code: " + features.joined(separator: " ") }

    static func load() -> Result<CPUBackend, ProcessorError> {
        // The file the loader mapped libllama from (found through the RUNPATH, or
        // LD_LIBRARY_PATH where a user set one).
        let maps = ProcFile.read("/proc/self/maps") ?? ""
        let mapped = maps.split(separator: "\n").lazy.compactMap { line -> Substring? in
            guard let slash = line.firstIndex(of: "/") else { return nil }
            let path = line[slash...]
            return path.split(separator: "/").last?.hasPrefix("libllama.so") == true ? path : nil
        }.first
        guard let mapped else {
            return .failure(.engineFailure("could not find where libllama was loaded from (/proc/self/maps); run `make setup`"))
        }
        let folder = URL(fileURLWithPath: String(mapped)).resolvingSymlinksInPath().deletingLastPathComponent().path
        if ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU) == nil {
            // A library built with the CPU code inside (no dispatch) has registered it already.
            // ggml would pick by CPUID alone (its own FIXME: no check that the OS enabled the
            // registers), and loading a variant runs its code, so an AVX-512 variant on a VM
            // that reports AVX-512 without enabling it would die of SIGILL. The variant is
            // chosen by what the kernel reports in /proc/cpuinfo instead, where it is known.
            let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            let flags = cpuFlags(ProcFile.read("/proc/cpuinfo") ?? "")
            if let chosen = x86Variant(files: files, cpuFlags: flags) {
                _ = ggml_backend_load(folder + "/" + chosen)
                // GPU code built beside it (a llama.cpp built with a GPU backend), by exact name too.
                for module in acceleratorModules where files.contains(module) { _ = ggml_backend_load(folder + "/" + module) }
            } else {
                ggml_backend_load_all_from_path(folder)
            }
        }
        guard let device = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU) else {
            return .failure(
                .engineFailure(
                    "no CPU code for this machine in \(folder) (the libggml-cpu-*.so modules llama.cpp's build installs); run `make setup` to build them"
                ))
        }
        var features: [String] = []
        if let registry = ggml_backend_dev_backend_reg(device),
            let address = ggml_backend_reg_get_proc_address(registry, "ggml_backend_get_features")
        {
            let list = unsafeBitCast(address, to: ggml_backend_get_features_t.self)
            var feature = list(registry)
            while let entry = feature, let name = entry.pointee.name {
                if let value = entry.pointee.value, String(cString: value) != "0" { features.append(String(cString: name)) }
                feature = entry.successor()
            }
        }
        return .success(CPUBackend(folder: folder, features: features))
    }

    /// ggml's GPU backends as modules; one whose driver is missing registers no device.
    static let acceleratorModules = ["cuda", "hip", "musa", "vulkan", "sycl", "opencl"].map { "libggml-\($0).so" }

    /// What each of ggml's x86 CPU variants compiles for, as /proc/cpuinfo names it.
    static let x86Variants: [(name: String, needs: Set<String>)] = {
        let haswell: Set<String> = ["sse4_2", "avx", "f16c", "fma", "avx2", "bmi2"]
        let skylakex = haswell.union(["avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"])
        return [
            ("x64", []), ("sse42", ["sse4_2"]), ("sandybridge", ["sse4_2", "avx"]), ("ivybridge", ["sse4_2", "avx", "f16c"]),
            ("piledriver", ["sse4_2", "avx", "f16c", "fma"]), ("haswell", haswell), ("alderlake", haswell.union(["avx_vnni"])),
            ("skylakex", skylakex), ("cannonlake", skylakex.union(["avx512vbmi"])), ("cascadelake", skylakex.union(["avx512_vnni"])),
            ("icelake", skylakex.union(["avx512vbmi", "avx512_vnni"])),
            ("cooperlake", skylakex.union(["avx512_vnni", "avx512_bf16"])),
            ("zen4", skylakex.union(["avx512vbmi", "avx512_vnni", "avx512_bf16"])),
            ("sapphirerapids", skylakex.union(["avx512vbmi", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8"])),
        ]
    }()

    /// The module of the x86 variant that needs the most of what this CPU and its kernel
    /// offer (ties go to the later, newer one), among `files`; nil when none is a known
    /// x86 variant (an Arm build, or an unknown layout: ggml chooses then).
    static func x86Variant(files: [String], cpuFlags: Set<String>) -> String? {
        var best: (file: String, count: Int)?
        for (name, needs) in x86Variants where needs.isSubset(of: cpuFlags) {
            let file = "libggml-cpu-\(name).so"
            guard files.contains(file) else { continue }
            if best == nil || needs.count >= best!.count { best = (file, needs.count) }
        }
        return best?.file
    }

    /// The instruction sets the kernel reports for the first CPU ("flags" on x86).
    static func cpuFlags(_ cpuinfo: String) -> Set<String> {
        let line = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        return Set((line.split(separator: ":", maxSplits: 1).last ?? "").split(separator: " ").map(String.init))
    }
}
