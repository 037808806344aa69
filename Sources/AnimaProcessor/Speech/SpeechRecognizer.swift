/// Turns speech into text: the interface of the local Whisper engine (`AnimaLlama`), so the
/// daemon and the shell need not know which engine runs.
public protocol SpeechRecognizer: Sendable {
    /// The model's name, as the API reports it.
    var modelName: String { get }
    /// Whether the model tells languages apart (multilingual Whisper) or knows one.
    var detectsLanguage: Bool { get }
    /// Transcribes a whole clip of any sample rate.
    func transcribe(_ clip: AudioClip, options: TranscriptionOptions) async throws -> SpeechTranscript
}

/// Choices for one transcription.
public struct TranscriptionOptions: Sendable, Equatable {
    /// ISO 639-1 code; nil to detect (or the model's only language).
    public var language: String?
    /// Text that came before, to keep names and spelling consistent.
    public var prompt: String?
    /// Sampling temperature; 0 decodes greedily.
    public var temperature: Double

    public init(language: String? = nil, prompt: String? = nil, temperature: Double = 0) {
        self.language = language
        self.prompt = prompt
        self.temperature = temperature
    }
}
