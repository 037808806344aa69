extension SpeechRecognizer {
    /// Transcribes a live stream of samples utterance by utterance: the voice-activity
    /// detector cuts it at pauses, and each utterance's segments come out (timed from the
    /// stream's start) while the speaker goes on.
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
                    var vad = VoiceActivityDetector(sampleRate: sampleRate, configuration: detector)
                    func emit(_ utterance: VoiceActivityDetector.Utterance) async throws {
                        let transcript = try await transcribe(utterance.clip, options: options)
                        for var segment in transcript.segments where !segment.text.allSatisfy(\.isWhitespace) {
                            segment.start += utterance.start
                            segment.end += utterance.start
                            continuation.yield(segment)
                        }
                    }
                    for try await chunk in chunks {
                        for utterance in vad.add(chunk) { try await emit(utterance) }
                    }
                    if let last = vad.finish() { try await emit(last) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
