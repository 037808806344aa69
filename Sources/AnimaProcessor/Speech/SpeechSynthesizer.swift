/// Turns text into speech: the interface of the local voices (espeak-ng in `AnimaLlama`).
public protocol SpeechSynthesizer: Sendable {
    /// The voices it knows, by the names `SpeechOptions.voice` takes.
    var voices: [String] { get }
    /// Speaks `text` into one clip at the synthesizer's own rate.
    func synthesize(_ text: String, options: SpeechOptions) async throws -> AudioClip
}

/// Choices for one utterance.
public struct SpeechOptions: Sendable, Equatable {
    /// A voice name from `SpeechSynthesizer.voices`; nil for the default.
    public var voice: String?
    /// 1 is normal; the API's 0.25...4.
    public var speed: Double

    public init(voice: String? = nil, speed: Double = 1) {
        self.voice = voice
        self.speed = speed
    }
}

extension SpeechSynthesizer {
    /// Speaks text that arrives in pieces (a streamed answer) one sentence at a time, so
    /// the first audio is ready before the answer is complete; the first piece may be a
    /// clause (`SentenceSplitter(firstClause:)`), so speech starts sooner still.
    public func speakStreaming<Pieces: AsyncSequence & Sendable>(
        _ pieces: Pieces, options: SpeechOptions = SpeechOptions()
    ) -> AsyncThrowingStream<AudioClip, any Error> where Pieces.Element == String {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var splitter = SentenceSplitter(firstClause: true)
                    for try await piece in pieces {
                        for sentence in splitter.add(piece) {
                            continuation.yield(try await synthesize(sentence, options: options))
                        }
                    }
                    if let rest = splitter.finish() { continuation.yield(try await synthesize(rest, options: options)) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
