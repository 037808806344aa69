/// Transcribes a live stream utterance by utterance, starting each transcription during the
/// pause that may end it, so little is left to do when the pause has lasted long enough.
///
/// The voice-activity detector ends an utterance only after `silence` (0.5 s by default) of
/// quiet. A recogniser that waited for that would start its work half a second after the
/// speaker stopped. Instead, once the speaker has been quiet for `speculateAfter`, the speech
/// so far is transcribed at once; if the pause becomes the utterance's end (no loud frame
/// since), that transcript is the answer, usually already finished. If the speaker goes on,
/// the early transcript is dropped and a later pause starts another. The words come from the
/// same audio either way: only the trailing quiet differs, which Whisper does not hear.
public struct LiveTranscriber: Sendable {
    /// One utterance heard, with its words.
    public struct Heard: Sendable {
        /// Where the utterance began and where its speech ended, in seconds of the stream.
        public var start: Double
        public var speechEnd: Double
        public var transcript: SpeechTranscript
        /// Whether the transcription had started during the closing pause.
        public var early: Bool
    }

    public let recognizer: any SpeechRecognizer
    public let options: TranscriptionOptions
    /// How long a pause must be before the speech so far is transcribed, in seconds; nil:
    /// never early, each utterance is transcribed once it has ended.
    public let speculateAfter: Double?
    private var detector: VoiceActivityDetector
    private var pending: (speechEnd: Double, task: Task<SpeechTranscript, any Error>)?

    /// - Parameters:
    ///   - sampleRate: the stream's rate.
    ///   - detector: the voice-activity detector's settings; the defaults suit a quiet room.
    ///   - speculateAfter: the pause, in seconds, after which a transcription starts early.
    ///     Default 0.15: longer than the gaps between words, well inside `silence`. Nil: never.
    public init(
        recognizer: any SpeechRecognizer, sampleRate: Int, options: TranscriptionOptions = TranscriptionOptions(),
        detector: VoiceActivityDetector.Configuration = VoiceActivityDetector.Configuration(), speculateAfter: Double? = 0.15
    ) {
        self.recognizer = recognizer
        self.options = options
        self.speculateAfter = speculateAfter.map { $0.isFinite ? max(0.02, min($0, detector.silence)) : detector.silence }
        self.detector = VoiceActivityDetector(sampleRate: sampleRate, configuration: detector)
    }

    /// Whether an utterance is under way.
    public var isSpeaking: Bool { detector.isSpeaking }

    /// Takes more samples; returns the utterances they completed, transcribed.
    public mutating func add(_ samples: [Float]) async throws -> [Heard] {
        var heard: [Heard] = []
        for utterance in detector.add(samples) { heard.append(try await transcribe(utterance)) }
        if let speculateAfter, detector.quietSeconds >= speculateAfter, let sofar = detector.speechSoFar, pending?.speechEnd != sofar.speechEnd {
            pending?.task.cancel()
            let recognizer = recognizer
            let options = options
            pending = (sofar.speechEnd, Task { try await recognizer.transcribe(sofar.clip, options: options) })
        }
        return heard
    }

    /// Ends the stream: the utterance under way, if any.
    public mutating func finish() async throws -> Heard? {
        guard let last = detector.finish() else {
            pending?.task.cancel()
            pending = nil
            return nil
        }
        return try await transcribe(last)
    }

    private mutating func transcribe(_ utterance: VoiceActivityDetector.Utterance) async throws -> Heard {
        defer { pending = nil }
        if let pending, pending.speechEnd == utterance.speechEnd {
            return Heard(
                start: utterance.start, speechEnd: utterance.speechEnd, transcript: try await pending.task.value, early: true)
        }
        pending?.task.cancel()
        let transcript = try await recognizer.transcribe(utterance.clip, options: options)
        return Heard(start: utterance.start, speechEnd: utterance.speechEnd, transcript: transcript, early: false)
    }
}
