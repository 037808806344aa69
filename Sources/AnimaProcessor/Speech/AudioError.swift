/// Why audio could not be read or used. Each message says what was wrong and what to send instead.
public enum AudioError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case notWAV(String)
    case truncated(String)
    case unsupported(String)
    case tooLong(seconds: Double, limit: Double)
    /// A language the model cannot transcribe (`tiny.en` knows English only).
    case unsupportedLanguage(String, model: String)
    case noSpeechModel(String)
    case engineFailure(String)

    public var description: String {
        switch self {
        case .empty:
            "the audio is empty; send a WAV file with at least a fraction of a second of sound"
        case .notWAV(let what):
            "the audio is not a WAV file (\(what)); convert it first, for example `sox in.mp3 -r 16000 -c 1 out.wav`"
        case .truncated(let what):
            "the WAV file is cut short (\(what)); send the whole file"
        case .unsupported(let what):
            "this WAV file uses \(what); send 8, 16, 24 or 32-bit PCM or 32-bit float, 1 to 8 channels, 8 to 192 kHz"
        case .tooLong(let seconds, let limit):
            "the audio is \(Int(seconds)) s long; the limit is \(Int(limit)) s: split it into shorter files"
        case .unsupportedLanguage(let language, let model):
            "\(model) knows English only and detects no other language, so it cannot transcribe \(language); leave language out or set it to en, or install a multilingual Whisper model (--speech-model, ANIMA_SPEECH_MODEL)"
        case .noSpeechModel(let what):
            "no speech model: \(what)"
        case .engineFailure(let what):
            "the speech engine failed: \(what)"
        }
    }
}
