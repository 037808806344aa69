import AnimaCore
import AnimaProcessor
import CWhisper
import Foundation

/// Speech to text on whisper.cpp, sharing llama.cpp's ggml: the local `SpeechRecognizer`.
///
/// One whisper context, used from one dedicated thread: transcriptions queue there in
/// arrival order and never block Swift's cooperative pool. Audio of any rate is resampled
/// to the 16 kHz the model takes. English-only models (`tiny.en`) report `en`; a
/// multilingual one detects the language unless the request names it.
public final class WhisperEngine: SpeechRecognizer {
    public struct Configuration: Sendable, Hashable {
        /// Path of the ggml model file (`ggml-tiny.en.bin`).
        public var modelPath: String
        /// CPU threads for one transcription. Default: up to 4 cores.
        public var threads: Int
        /// Whether a clip shorter than Whisper's 30 s window is encoded with an audio context
        /// fitted to its length (`audioContext(seconds:)`) rather than the whole window, which
        /// makes a spoken command several times cheaper to encode. Default true.
        public var fitsContextToAudio: Bool

        public init(
            modelPath: String, threads: Int = min(4, ProcessInfo.processInfo.activeProcessorCount), fitsContextToAudio: Bool = true
        ) {
            self.modelPath = modelPath
            self.threads = threads
            self.fitsContextToAudio = fitsContextToAudio
        }
    }

    /// The rate whisper.cpp takes.
    public static let sampleRate = 16_000

    /// The encoder's audio context for `seconds` of audio: 50 positions a second (Whisper's
    /// full 30 s window is 1500), plus a margin of a second and a half, rounded up to a
    /// multiple of 64, at least 256; 0 (the whole window) when that would not be smaller.
    /// The encoder dominates a short clip's cost, and this cuts it several-fold with the same
    /// words (the round-trip tests hold their word error rates). Tighter is unsafe: at 192
    /// whisper.cpp fell into repetition loops on espeak-ng's sentences (minutes per clip).
    public static func audioContext(seconds: Double) -> Int {
        guard seconds.isFinite, seconds >= 0, seconds < 30 else { return 0 }
        let needed = Int((seconds * 50).rounded(.up)) + 75
        let rounded = max(256, (needed + 63) / 64 * 64)
        return rounded < 1500 ? rounded : 0
    }

    public let modelName: String
    public let detectsLanguage: Bool
    public let configuration: Configuration
    private let thread = DedicatedThread(name: "anima-whisper", stackSize: 8 << 20)
    private let context: Context

    /// Owns the whisper context; touched only on `thread`.
    private final class Context: @unchecked Sendable {
        let pointer: OpaquePointer
        init(_ pointer: OpaquePointer) { self.pointer = pointer }
        deinit { whisper_free(pointer) }
    }

    /// Loads the model on a thread of its own.
    public static func load(_ configuration: Configuration) async throws -> WhisperEngine {
        try await DedicatedThread.offload(name: "anima-whisper-load", stackSize: 8 << 20) { () throws(AudioError) -> WhisperEngine in
            try WhisperEngine(configuration)
        }
    }

    /// Loads the model on the calling thread (blocking). Prefer `load(_:)`.
    public init(_ configuration: Configuration) throws(AudioError) {
        guard FileManager.default.fileExists(atPath: configuration.modelPath) else {
            throw .noSpeechModel("no file at \(configuration.modelPath); run `make setup`, which converts Whisper tiny.en there")
        }
        guard configuration.threads >= 1 else { throw .engineFailure("threads must be at least 1") }
        // whisper.cpp shares llama.cpp's ggml and so its CPU code, loaded once per process.
        do { try LlamaRuntime.initialize() } catch { throw .engineFailure(error.description) }
        Self.quietLogs()
        var params = whisper_context_default_params()
        params.use_gpu = false
        let loaded = LlamaRuntime.capturingErrors { whisper_init_from_file_with_params(configuration.modelPath, params) }
        guard let pointer = loaded else {
            let why = LlamaRuntime.lastErrors().map { " (\($0))" } ?? ""
            throw .noSpeechModel("\(configuration.modelPath) is not a whisper.cpp model file\(why); delete it and run `make setup`")
        }
        context = Context(pointer)
        detectsLanguage = whisper_is_multilingual(pointer) != 0
        modelName = URL(fileURLWithPath: configuration.modelPath).deletingPathExtension().lastPathComponent
            .replacingOccurrences(of: "ggml-", with: "whisper-")
        self.configuration = configuration
    }

    public func transcribe(_ clip: AudioClip, options: TranscriptionOptions) async throws -> SpeechTranscript {
        let audio = clip.resampled(to: Self.sampleRate)
        guard !audio.samples.isEmpty else { throw AudioError.empty }
        if let language = options.language, !detectsLanguage, language != "en" {
            throw AudioError.unsupportedLanguage(String(language.prefix(40)), model: modelName)
        }
        let context = self.context
        let threads = configuration.threads
        let multilingual = detectsLanguage
        let audioContext = configuration.fitsContextToAudio ? Self.audioContext(seconds: audio.duration) : 0
        return try await thread.run { () throws(AudioError) -> SpeechTranscript in
            try Self.run(
                context.pointer, audio: audio, options: options, threads: threads, multilingual: multilingual, audioContext: audioContext)
        }
    }

    private static func run(
        _ ctx: OpaquePointer, audio: AudioClip, options: TranscriptionOptions, threads: Int, multilingual: Bool, audioContext: Int
    ) throws(AudioError) -> SpeechTranscript {
        var params = whisper_full_default_params(WHISPER_SAMPLING_GREEDY)
        params.n_threads = Int32(threads)
        params.audio_ctx = Int32(audioContext)
        params.print_progress = false
        params.print_realtime = false
        params.print_special = false
        params.print_timestamps = false
        params.no_context = true
        params.temperature = Float(max(0, min(1, options.temperature)))
        let language = options.language ?? (multilingual ? "auto" : "en")
        let status: Int32 = language.withCString { languagePointer in
            (options.prompt ?? "").withCString { promptPointer in
                params.language = languagePointer
                params.initial_prompt = options.prompt == nil ? nil : promptPointer
                return audio.samples.withUnsafeBufferPointer { whisper_full(ctx, params, $0.baseAddress, Int32($0.count)) }
            }
        }
        guard status == 0 else { throw .engineFailure("whisper.cpp returned \(status) for \(audio.samples.count) samples") }
        var segments: [SpeechTranscript.Segment] = []
        for i in 0..<whisper_full_n_segments(ctx) {
            let text = whisper_full_get_segment_text(ctx, i).map { String(cString: $0) } ?? ""
            // With a context fitted to the clip, whisper.cpp can place a segment's end past the
            // audio (its decoder still counts in 30 s windows): no time lies outside the clip.
            let end = min(Double(whisper_full_get_segment_t1(ctx, i)) / 100, audio.duration)
            let start = min(Double(whisper_full_get_segment_t0(ctx, i)) / 100, end)
            segments.append(.init(start: start, end: end, text: text))
        }
        let detected = multilingual ? whisper_lang_str(whisper_full_lang_id(ctx)).map { String(cString: $0) } ?? language : "en"
        let text = segments.map(\.text).joined().trimmingCharacters(in: .whitespacesAndNewlines)
        return SpeechTranscript(text: text, segments: segments, language: detected, duration: audio.duration)
    }

    /// whisper.cpp sets ggml's log hook, which llama.cpp's log shares: both go to the one
    /// quiet, remembered log (`LlamaRuntime`; ANIMA_LLAMA_LOG=1 echoes it).
    private static func quietLogs() {
        whisper_log_set(
            { level, text, _ in
                guard let text else { return }
                LlamaRuntime.record(level: level, text: String(cString: text))
            }, nil)
    }
}
