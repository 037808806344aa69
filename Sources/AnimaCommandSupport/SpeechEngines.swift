import AnimaLlama
import AnimaProcessor
import AnimaServer
import Foundation

/// The local speech engines setup installs: Whisper tiny.en (converted by
/// scripts/setup-voice.sh) and espeak-ng.
package enum SpeechEngines {
    /// `$ANIMA_SPEECH_MODEL`, else the Whisper model setup converts.
    package static var defaultRecognizerPath: String {
        if let path = ProcessInfo.processInfo.environment["ANIMA_SPEECH_MODEL"], !path.isEmpty { return path }
        return AnimaPaths.models.appendingPathComponent("ggml-tiny.en.bin").path
    }

    /// Loads Whisper from `path` (default: setup's), with `threads`.
    package static func recognizer(path: String? = nil, threads: Int? = nil, fitsContextToAudio: Bool = true) async throws -> WhisperEngine {
        var configuration = WhisperEngine.Configuration(modelPath: path ?? defaultRecognizerPath, fitsContextToAudio: fitsContextToAudio)
        if let threads { configuration.threads = threads }
        return try await WhisperEngine.load(configuration)
    }

    /// What a daemon serves at /v1/audio: each engine that is installed; a missing one
    /// leaves its route answering 503 with what to install.
    /// `ANIMA_VOICE_ENGINE=piper` makes Piper the voice when it is installed (else espeak-ng).
    package static func services() async -> SpeechServices {
        var services = await engines()
        if let lame = LameEncoder.installed() { services.encoders["mp3"] = lame.encode }
        return services
    }

    private static func engines() async -> SpeechServices {
        let whisper: WhisperEngine? = FileManager.default.fileExists(atPath: defaultRecognizerPath) ? try? await recognizer() : nil
        if ProcessInfo.processInfo.environment["ANIMA_VOICE_ENGINE"] == "piper" {
            switch PiperSynthesizer.installed() {
            case .success(let piper): return SpeechServices(recognizer: whisper, synthesizer: piper)
            case .failure(let error):
                FileHandle.standardError.write(Data("ANIMA_VOICE_ENGINE=piper: \(error.description); speaking with espeak-ng instead\n".utf8))
            }
        }
        let espeak = try? await EspeakSynthesizer.shared()
        return SpeechServices(recognizer: whisper, synthesizer: espeak)
    }
}
