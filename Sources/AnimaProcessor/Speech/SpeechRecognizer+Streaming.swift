extension SpeechRecognizer {
    /// Transcribes a live stream of samples utterance by utterance: the voice-activity
    /// detector cuts it at pauses, and each utterance's segments come out (timed from the
    /// stream's start) while the speaker goes on. Each transcription starts during the pause
    /// that ends its utterance (`LiveTranscriber`).
    /// - Parameters:
    ///   - chunks: samples at `sampleRate`, in any chunk sizes.
    ///   - detector: the detector's settings; the defaults suit a quiet room.
    public func transcribeStreaming<Chunks: AsyncSequence & Sendable>(
        _ chunks: Chunks, sampleRate: Int, options: TranscriptionOptions = TranscriptionOptions(),
        detector: VoiceActivityDetector.Configuration = VoiceActivityDetector.Configuration()
    ) -> AsyncThrowingStream<SpeechTranscript.Segment, any Error> where Chunks.Element == [Float] {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var live = LiveTranscriber(recognizer: self, sampleRate: sampleRate, options: options, detector: detector)
                    func emit(_ heard: LiveTranscriber.Heard) {
                        for var segment in heard.transcript.segments where !segment.text.allSatisfy(\.isWhitespace) {
                            segment.start += heard.start
                            segment.end += heard.start
                            continuation.yield(segment)
                        }
                    }
                    for try await chunk in chunks {
                        for heard in try await live.add(chunk) { emit(heard) }
                    }
                    if let last = try await live.finish() { emit(last) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
